"""Documentation pages: every Python block is a whole program that runs on its own, in a fresh
namespace, as a reader who pastes just that block would run it; so the pages never rot."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCKS = [
    (page.relative_to(DOCS).as_posix(), i, block)
    for page in sorted(DOCS.rglob("*.md"))
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S), 1)
]


@pytest.mark.parametrize("page, index, block", BLOCKS, ids=[f"{p} block {i}" for p, i, _ in BLOCKS])
def test_page_code_block_runs_on_its_own(page, index, block, capsys):
    if "load_digits" in block:
        pytest.importorskip("sklearn")
    exec(compile(block, f"{page} block {index}", "exec"), {"__name__": "__main__"})
    if page == "tutorial.md" and "MLP test accuracy" in block:
        assert "MLP test accuracy" in capsys.readouterr().out


def test_the_program_pages_have_blocks():
    pages = {page for page, _, _ in BLOCKS}
    assert {"tutorial.md", "mlp_by_hand.md", "article_errors.md", "checking_your_layer.md"} <= pages
