"""docs/backward_trace.md: its code prints exactly its trace, whose gradients match the hand
calculation on the page; and the graph drawing of a small MLP."""

import io
import math
import re
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl

PAGE = Path(__file__).resolve().parents[2] / "docs" / "backward_trace.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", PAGE.read_text(), flags=re.S)


def test_the_page_trace_is_what_the_engine_prints():
    (code,) = _blocks("python")
    (expected,) = _blocks("text")
    namespace, printed = {}, io.StringIO()
    with redirect_stdout(printed):
        exec(code, namespace)
    # NOTE: tape positions (#n) depend on what ran before in this process, so compare without them
    strip = lambda text: re.sub(r"#\d+", "#", text).strip()
    assert strip(printed.getvalue()) == strip(expected)


def test_the_traced_gradients_equal_the_hand_calculation():
    (code,) = _blocks("python")
    namespace = {}
    with redirect_stdout(io.StringIO()):
        exec(code, namespace)
    p = 1 / (1 + math.exp(-0.1))
    assert namespace["loss"].item() == pytest.approx(0.644397, abs=1e-6)
    assert p == pytest.approx(0.524979, abs=1e-6) and -1 / p == pytest.approx(-1.904837, abs=1e-6)
    np.testing.assert_allclose(namespace["w"].grad.numpy(), [-0.475021, -0.950042], atol=1e-6)
    assert namespace["b"].grad.item() == pytest.approx(p - 1, abs=1e-12)


def _mlp_loss():
    tl.manual_seed(0)
    model = tl.nn.Sequential(tl.nn.Linear(3, 4), tl.nn.ReLU(), tl.nn.Linear(4, 2))
    x = tl.randn(5, 3)
    x.name = "x"
    return tl.nn.functional.cross_entropy(model(x), np.array([0, 1, 0, 1, 1]))


def test_dot_of_a_small_mlp_loss():
    dot = tl.viz.to_dot(_mlp_loss())
    assert dot.startswith("digraph tinygrad_lite {") and dot.rstrip().endswith("}")
    for op in ("Affine", "ReLU", "SoftmaxCrossEntropy", "Mean"):
        assert f'label="{op}"' in dot, op
    assert dot.count('fillcolor="lightblue"') == 4  # two weights, two biases
    assert 'label="x\\n(5, 3) float32"' in dot
    assert "penwidth=2" in dot  # the loss itself
    nodes = re.findall(r"^  (n\d+) \[", dot, flags=re.M)
    edges = re.findall(r"^  (n\d+) -> (n\d+);", dot, flags=re.M)
    assert len(nodes) == len(set(nodes)) and {a for e in edges for a in e} <= set(nodes)


def test_dot_shows_values_and_refuses_a_freed_graph():
    loss = _mlp_loss()
    assert "\\n" in tl.viz.to_dot(loss, values=True)
    loss.backward()
    with pytest.raises(ValueError, match="the graph was freed by backward"):
        tl.viz.to_dot(loss)


def test_draw_renders_or_says_how_to_install_graphviz(tmp_path, monkeypatch):
    loss = _mlp_loss()
    if shutil.which("dot") is None:
        with pytest.raises(RuntimeError, match="Graphviz's `dot` program is not installed"):
            tl.viz.draw(loss, tmp_path / "graph.svg")
    else:
        path = tl.viz.draw(loss, tmp_path / "graph.svg")
        assert "<svg" in path.read_text()
    monkeypatch.setattr(shutil, "which", lambda name: None)  # as on a machine without it
    with pytest.raises(RuntimeError, match="a system package, which no pip extra"):
        tl.viz.draw(loss, tmp_path / "graph.svg")


def test_trace_collects_lines_and_summarizes_large_tensors():
    x = tl.randn(10, 10, requires_grad=True)
    with tl.trace(file=io.StringIO()) as printer:
        (x * 2).sum().backward()
    assert printer.lines[0].startswith("step 1: Sum#")
    assert any("<(10, 10) mean" in line for line in printer.lines)


def test_graphs_display_inline_in_notebooks():
    import shutil

    x = tl.tensor([1.0, 2.0], requires_grad=True)
    shown = tl.viz.graph((x * x).sum())
    assert shown._repr_html_().startswith("<pre>digraph") and "Mul" in repr(shown)
    svg = shown._repr_svg_()
    assert (svg is None) == (shutil.which("dot") is None)
    if svg is not None:
        assert "<svg" in svg


def test_large_tensors_print_a_short_repr():
    assert len(repr(tl.zeros(1000, 1000))) < 400
