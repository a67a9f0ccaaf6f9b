"""Draw the recorded graph: `to_dot(y)` gives Graphviz DOT text, `draw(y, "graph.svg")` renders it.

Tensors are ellipses (leaves that require grad are shaded: those are what backward fills), ops
are boxes, and edges run in the direction of the forward pass. Draw before calling backward (or
backward with retain_graph=True): backward frees the graph as it goes.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path

from .explorer import explore  # noqa: F401  (tl.viz.explore: the interactive page)
from .tensor import Tensor
from .tracing import describe


def _tensor_label(t: Tensor, values: bool) -> str:
    label = f"{t.name or ('leaf' if t.creator is None else 'out')}\\n{t.shape} {t.dtype}"
    if values:
        label += "\\n" + describe(t, max_values=4).replace("\n", " ")
        if t.grad is not None:
            label += "\\ngrad " + describe(t.grad, max_values=4).replace("\n", " ")
    return label.replace('"', "'")


def to_dot(y: Tensor, values: bool = False) -> str:
    """Graphviz DOT of everything `y` was computed from; values=True adds data (and .grad)."""
    lines = ["digraph tinygrad_lite {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    ids: dict[int, str] = {}
    node = lambda obj: ids.setdefault(id(obj), f"n{len(ids)}")  # noqa: E731  (stable short ids)
    seen, stack = set(), [y]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        style = ', style=filled, fillcolor="lightblue"' if t.is_leaf and t.requires_grad else ""
        bold = ", penwidth=2" if t is y else ""
        lines.append(
            f'  {node(t)} [shape=ellipse, label="{_tensor_label(t, values)}"{style}{bold}];'
        )
        fn = t.creator
        if fn is None:
            continue
        if fn.inputs is None:
            raise ValueError(
                "to_dot: the graph was freed by backward; draw before backward, or call "
                "backward(retain_graph=True)"
            )
        lines.append(f'  {node(fn)} [shape=box, style=rounded, label="{type(fn).__name__}"];')
        lines.append(f"  {node(fn)} -> {node(t)};")
        for x in fn.inputs:
            lines.append(f"  {node(x)} -> {node(fn)};")
            stack.append(x)
    lines.append("}")
    return "\n".join(dict.fromkeys(lines)) + "\n"  # NOTE: a tensor used twice gives one edge line


def draw(y: Tensor, path: str | Path, values: bool = False) -> Path:
    """Render the graph of `y` to `path` (format from the suffix: .svg, .png, .pdf) with Graphviz.

    Raises:
        RuntimeError: Graphviz's `dot` program is not installed (the message says how to get it).
    """
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "draw: Graphviz's `dot` program is not installed; it is a system package, which no "
            "pip extra of tinygrad_lite installs (apt-get install graphviz, brew install "
            "graphviz, or conda install graphviz); tl.viz.to_dot(tensor) returns the DOT text to "
            "render elsewhere"
        )
    path = Path(path)
    file_format = path.suffix.lstrip(".") or "svg"
    subprocess.run([dot, f"-T{file_format}", "-o", str(path)], input=to_dot(y, values).encode(),
                   check=True)  # fmt: skip
    return path


class Graph:
    """The recorded graph of a tensor, displayed inline by Jupyter: an SVG drawn by Graphviz
    when `dot` is installed, else the DOT text. `tl.viz.graph(loss)` in a notebook cell."""

    def __init__(self, y: Tensor, values: bool = False):
        self.dot = to_dot(y, values)

    def _repr_svg_(self) -> str | None:
        dot = shutil.which("dot")
        if dot is None:
            return None  # NOTE: Jupyter then shows _repr_html_
        result = subprocess.run([dot, "-Tsvg"], input=self.dot.encode(), capture_output=True)
        return result.stdout.decode() if result.returncode == 0 else None

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.dot)}</pre>"

    def __repr__(self) -> str:
        return self.dot


def graph(y: Tensor, values: bool = False) -> Graph:
    """The graph of `y`, for notebooks (inline SVG) and for printing (DOT text)."""
    return Graph(y, values)
