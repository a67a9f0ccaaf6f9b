"""Draw the recorded graph: `to_dot(y)` gives Graphviz DOT text, `draw(y, "graph.svg")` renders it.

Tensors are ellipses (leaves that require grad are shaded: those are what backward fills), ops
are boxes, and edges run in the direction of the forward pass. Draw before calling backward (or
backward with retain_graph=True): backward frees the graph as it goes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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
            "draw: Graphviz's `dot` program is not installed (apt-get install graphviz, "
            "brew install graphviz, or conda install graphviz); tl.viz.to_dot(tensor) returns the "
            "DOT text to render elsewhere"
        )
    path = Path(path)
    file_format = path.suffix.lstrip(".") or "svg"
    subprocess.run([dot, f"-T{file_format}", "-o", str(path)], input=to_dot(y, values).encode(),
                   check=True)  # fmt: skip
    return path
