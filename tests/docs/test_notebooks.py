"""docs/notebooks: each jupytext notebook executes from top to bottom in a Jupyter kernel
(nbclient), as handed out (exercises unanswered); and with the answers filled in, every
exercise's check says "correct", so each exercise is answerable and its checker right."""

import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason='pip install -e ".[notebooks]"')
nbclient = pytest.importorskip("nbclient", reason='pip install -e ".[notebooks]"')
pytest.importorskip("ipykernel", reason='pip install -e ".[notebooks]"')

NOTEBOOKS = Path(__file__).resolve().parents[2] / "docs" / "notebooks"
PAGES = sorted(p for p in NOTEBOOKS.glob("[0-9]*.py"))
SOLUTIONS = {  # notebook -> the answers, as Python expressions of the notebook's own names
    "01_chain_rule": ["(1 - np.tanh(1.0) ** 2) * 2.0", "-3.0 + 1"],
    "02_mlp_by_hand": ["np.abs((2 / 4 * (p - y) * (p * (1 - p)) ** 2).sum(0) - gb2).max()",
                       "gb1"],
    "03_softmax_cross_entropy": ["[0.25, 0.25, -0.75, 0.25]", "5"],
    "04_batch_norm": ["[0.0, 0.0, 0.0]", "2 / np.sqrt(4)"],
    "05_check_your_layer": ["np.abs((1 - x) / (1 + np.exp(-x)) * (1 - 1 / (1 + np.exp(-x)))).max()",
                            "1"],
    "06_mixed_precision": ["65504.0", "2.0 ** 6"],
    "07_pruning_quantization": ["256 * 784", "16"],
    "08_bptt_and_attention": ["(1 - hs[-1] ** 2) * hs[-2]", "1"],
}  # fmt: skip


def _run(page: Path, answers: list[str] | None = None) -> str:
    text = page.read_text()
    for i, answer in enumerate(answers or [], 1):
        text, count = re.subn(rf"^answer_{i} = None.*$", f"answer_{i} = {answer}", text,
                              flags=re.M)  # fmt: skip
        assert count == 1, f"{page.name}: no 'answer_{i} = None' line"
    notebook = jupytext.reads(text, fmt="py:percent")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}  # fmt: skip
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})  # fmt: skip
    client.execute()
    return "\n".join(
        output.get("text", "")
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.get("outputs", []) if output.get("output_type") == "stream"
    )  # fmt: skip


def test_every_notebook_has_solutions_here():
    assert {p.stem for p in PAGES} == set(SOLUTIONS)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_the_notebook_runs_as_handed_out(page):
    printed = _run(page)
    assert "not answered yet" in printed and "correct" not in printed


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_each_exercise_is_answerable_and_checked(page):
    printed = _run(page, SOLUTIONS[page.stem])
    verdicts = re.findall(r"^exercise \d+: (.*)$", printed, flags=re.M)
    assert verdicts and all(v == "correct" for v in verdicts), printed
