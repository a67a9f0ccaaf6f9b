"""An interactive backprop explorer: `tl.viz.explore(loss, "backprop.html")` runs
`loss.backward()`, records every step the engine takes, and writes one self-contained HTML file
(no server, no network: the page's JavaScript and CSS are written here, in explorer.html).

The page draws the graph left to right, tensors as rounded boxes and ops as dark boxes, each
tensor with its shape and values (a heat map when it has more than a few). "Step backward" walks
the tape in the engine's order: the op whose backward runs is highlighted, its rule (the
`Backward:` line of its docstring) is shown with the gradient that arrives and what it sends to
each input, and the gradients fill in as they arrive. Clicking a node shows its op's derivation
section from docs/derivations (shipped in the wheel as tinygrad_lite/derivations), its formulas
rendered as MathML, which browsers draw natively (converted here by `latex2mathml` when it is
installed, `pip install latex2mathml`, from a checkout `pip install -e ".[browser]"`; without it
the LaTeX source is shown).
"""

from __future__ import annotations

import html
import inspect
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from . import autograd
from .tensor import Tensor

TEMPLATE = Path(__file__).with_name("explorer.html")
# the checkout's docs/derivations, or the copy a wheel carries (pyproject's package-dir)
_CHECKOUT_DERIVATIONS = Path(__file__).resolve().parents[1] / "docs" / "derivations"
DERIVATIONS = (_CHECKOUT_DERIVATIONS if _CHECKOUT_DERIVATIONS.is_dir()
               else Path(__file__).with_name("derivations"))  # fmt: skip
HEAT_MAP_SIDE = 24  # a tensor is drawn as at most this many rows and columns of cells
MAX_VALUES = 8  # up to this many values a tensor shows numbers, beyond it a heat map


def _array(values) -> np.ndarray:
    return np.asarray(values.numpy() if isinstance(values, Tensor) else values, dtype=np.float64)


def _picture(values) -> dict:
    """What the page shows of an array: every value for small ones; for larger ones a grid of
    at most HEAT_MAP_SIDE² values (rows and columns strided) and min, max, mean."""
    array = _array(values)
    shown = {"shape": list(array.shape)}
    if array.size <= MAX_VALUES:
        return {**shown, "values": [_number(v) for v in array.reshape(-1)]}
    grid = array.reshape(-1, array.shape[-1]) if array.ndim > 1 else array.reshape(1, -1)
    rows = grid[:: max(1, -(-grid.shape[0] // HEAT_MAP_SIDE))]
    grid = rows[:, :: max(1, -(-grid.shape[1] // HEAT_MAP_SIDE))]
    finite = array[np.isfinite(array)]
    stats = [float(f(finite)) if finite.size else 0.0 for f in (np.min, np.max, np.mean)]
    return {**shown, "grid": [[_number(v) for v in row] for row in grid],
            "min": stats[0], "max": stats[1], "mean": stats[2]}  # fmt: skip


def _number(value: float):
    """A JSON number, or a string for inf and NaN (which JSON has no literal for)."""
    value = float(value)
    return value if np.isfinite(value) else str(value)


def _rule(fn) -> str:
    """The `Backward:` paragraph of an op's docstring: its local rule."""
    doc = inspect.getdoc(type(fn)) or ""
    match = re.search(r"Backward:(.*?)(?:\n\s*\n|$)", doc, flags=re.S)
    return " ".join(match[1].split()) if match else "(no Backward: line in its docstring)"


def _derivation(fn) -> str:
    """The op's section of docs/derivations/<module>.md, Markdown with its LaTeX."""
    module = type(fn).__module__.rsplit(".", 1)[-1]
    page = DERIVATIONS / f"{module}.md"
    if not page.exists():
        return f"See docs/derivations/{module}.md in the tinygrad_lite repository."
    sections = re.split(r"^(?=## )", page.read_text(), flags=re.M)
    name = type(fn).__name__
    for section in sections:
        if re.match(rf"## .*\(`[^)]*\b{name}\b[^)]*`\)", section):
            return section.strip()
    return f"docs/derivations/{module}.md has no section for {name}."


# ---- the derivation sections as HTML: the subset of Markdown docs/derivations uses ----
# inline formulas may wrap onto the next line of their paragraph, as on GitHub
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$((?:[^$\n]|\n(?!\s*\n))+?)\$", flags=re.S)
_INLINE = [(re.compile(r"\*\*(.+?)\*\*"), r"<b>\1</b>"),
           (re.compile(r"(?<!\w)\*(.+?)\*(?!\w)"), r"<i>\1</i>"),
           (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"[picture: \1]"),
           (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1")]  # fmt: skip


def math_html(latex: str, display: bool = False) -> str:
    """One formula as MathML (browsers draw it natively), or its escaped source in <code> when
    `latex2mathml` is not installed or cannot read it."""
    try:
        from latex2mathml.converter import convert

        return convert(latex, display="block" if display else "inline")
    except Exception:  # NOTE: ImportError, or a formula the converter rejects: show the source
        source = f"<code class='tex'>{html.escape(latex)}</code>"
        return f"<div>{source}</div>" if display else source


def markdown_html(text: str) -> str:
    """The derivation pages' Markdown as HTML: headings, paragraphs, lists, tables, code and
    `$…$`/`$$…$$` formulas. Formulas and code are set aside first, so that neither HTML escaping
    nor emphasis touches their `*`, `_` and `<`."""
    kept: list[str] = []

    def keep(fragment: str) -> str:
        kept.append(fragment)
        return f"\x00{len(kept) - 1}\x00"

    fenced = lambda m: "\n" + keep(f"<pre>{html.escape(m[1])}</pre>") + "\n"
    text = re.sub(r"```\w*\n(.*?)```", fenced, text, flags=re.S)
    text = re.sub(r"`([^`\n]+)`", lambda m: keep(f"<code>{html.escape(m[1])}</code>"), text)
    text = _MATH.sub(lambda m: keep(math_html(m[1], True) if m[1] else math_html(m[2])), text)
    # a heading, a paragraph's start, a list and a table can share a block: split before each
    text = re.sub(r"^(#{1,4} .*)$", r"\n\1\n", text, flags=re.M)
    text = re.sub(r"^(?!- |\d+\. |\s)(.*)\n(?=(- |\d+\. ))", r"\1\n\n", text, flags=re.M)
    html_blocks = [_block(block.strip("\n")) for block in re.split(r"\n\s*\n", text.strip())]
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m[1])], "\n".join(html_blocks))


def _block(block: str) -> str:
    lines = block.splitlines()
    if heading := re.fullmatch(r"(#{1,4}) (.*)", block):
        return f"<h{len(heading[1]) + 2}>{_inline(heading[2])}</h{len(heading[1]) + 2}>"
    if all(line.lstrip().startswith("|") for line in lines):
        rows = ["".join(f"<td>{_inline(cell.strip())}</td>" for cell in line.strip(" |").split("|"))
                for line in lines if not re.fullmatch(r"[\s|:-]+", line)]  # fmt: skip
        return "<table>" + "".join(f"<tr>{row}</tr>" for row in rows) + "</table>"
    if item := re.match(r"- |\d+\. ", block):
        tag = "ul" if item[0] == "- " else "ol"
        items = re.split(r"\n(?:- |\d+\. )", "\n" + block)[1:]
        return f"<{tag}>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + f"</{tag}>"
    return f"<p>{_inline(block)}</p>"


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text


class _Recorder:
    """Walks the graph before backward (which frees it) and records each backward step."""

    def __init__(self, loss: Tensor):
        self.tensors: dict[int, dict] = {}
        self.ops: dict[int, dict] = {}
        self.keep: list = []  # the tensors and ops, alive until the page is written
        self.steps: list[dict] = []
        self.received: dict[int, np.ndarray] = {}
        self._walk(loss)

    def _tensor(self, t: Tensor) -> str:
        key = id(t)
        if key not in self.tensors:
            self.keep.append(t)
            name = t.name or ("leaf" if t.creator is None else f"{type(t.creator).__name__}#"
                              f"{t.creator.seq}")  # fmt: skip
            self.tensors[key] = {"id": f"t{len(self.tensors)}", "label": name,
                                 "shape": list(t.shape), "dtype": str(t.dtype),
                                 "parameter": t.creator is None and t.requires_grad,
                                 "value": _picture(t)}  # fmt: skip
        return self.tensors[key]["id"]

    def _walk(self, loss: Tensor) -> None:
        stack, seen = [loss], set()
        while stack:
            t = stack.pop()
            if id(t) in seen:
                continue
            seen.add(id(t))
            out = self._tensor(t)
            fn = t.creator
            if fn is None:
                continue
            self.keep.append(fn)
            inputs = [self._tensor(x) for x in fn.inputs]
            self.ops[id(fn)] = {"id": f"o{len(self.ops)}", "op": type(fn).__name__,
                                "inputs": inputs, "output": out, "rule": _rule(fn),
                                "derivation": _derivation(fn), "seq": fn.seq}  # fmt: skip
            self.ops[id(fn)]["derivation_html"] = markdown_html(self.ops[id(fn)]["derivation"])
            stack.extend(fn.inputs)
        self._lay_out()

    def _lay_out(self) -> None:
        """Give every node its column, left to right (the page and docs/make_pictures.py draw
        them so): an op one right of its furthest input, its output one right of it, a leaf just
        before the first op that reads it. Ops in tape order are a topological order."""
        column: dict[str, int] = {}
        ops = sorted(self.ops.values(), key=lambda op: op["seq"])
        for op in ops:
            column[op["id"]] = 1 + max(column.get(i, 0) for i in op["inputs"])
            column[op["output"]] = column[op["id"]] + 1
        computed = {op["output"] for op in ops}
        for op in ops:
            for leaf in set(op["inputs"]) - computed:
                column[leaf] = min(column.get(leaf, column[op["id"]]), column[op["id"]] - 1)
        for node in (*self.tensors.values(), *self.ops.values()):
            node["column"] = column[node["id"]]

    def __call__(self, fn, gy: Tensor, gxs: tuple) -> None:
        """A backward hook: the op's incoming gradient and what it sends to each input."""
        op = self.ops.get(id(fn))
        if op is None:  # not part of the graph drawn (cannot happen for loss.backward())
            return
        sent, arrived = [], {}
        for x, gx, needed in zip(fn.inputs, gxs, fn.needs_input_grad):
            target = self.tensors[id(x)]["id"]
            if gx is None or not needed:
                sent.append(None)
                continue
            gradient = _array(gx)
            self.received[id(x)] = self.received.get(id(x), 0) + gradient
            sent.append({"to": target, "gradient": _picture(gradient)})
            arrived[target] = _picture(self.received[id(x)])
        self.steps.append({"op": op["id"], "incoming": _picture(gy), "sent": sent,
                           "arrived": arrived})  # fmt: skip


def explore(loss: Tensor, path: str | os.PathLike = "backprop.html",
            title: str = "Backprop, step by step") -> Path:  # fmt: skip
    """Run `loss.backward()` and write the interactive explorer of that backward pass to `path`
    (one HTML file that opens offline in any browser); returns the path. `loss` must be a
    scalar that has not been backpropagated yet (backward frees the graph)."""
    if not isinstance(loss, Tensor) or loss.size != 1:
        raise ValueError("explore: needs the scalar loss Tensor, before its backward")
    if loss.creator is None or loss.creator.inputs is None:
        raise ValueError("explore: the loss has no recorded graph (computed under no_grad, or "
                         "backward already ran)")  # fmt: skip
    loss_key = id(loss)
    recorder = _Recorder(loss)
    loss_id = recorder.tensors[loss_key]["id"]
    hooks = autograd.backward_hooks()
    hooks.append(recorder)
    try:
        loss.backward()
    finally:
        hooks.remove(recorder)
    data = {"title": title, "loss": loss_id, "tensors": list(recorder.tensors.values()),
            "ops": list(recorder.ops.values()), "steps": recorder.steps}  # fmt: skip
    # NOTE: "</" is escaped so no value can close the <script> element the data sits in
    payload = json.dumps(data).replace("</", "<\\/")
    page = TEMPLATE.read_text().replace("__TITLE__", html.escape(title))
    page = page.replace("__DATA__", payload)
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(page)
    os.replace(temporary, path)
    return path


def _named(model) -> None:
    for name, parameter in model.named_parameters():
        parameter.name = name


def _input(array: np.ndarray, name: str = "x", requires_grad: bool = False) -> Tensor:
    t = Tensor(array, requires_grad=requires_grad)
    t.name = name
    return t


def _xor() -> Tensor:
    from . import nn

    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid())
    _named(model)
    x = _input(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
    return nn.functional.mse_loss(model(x), _input(np.array([[0], [1], [1], [0]], np.float32), "y"))


def _logistic_regression() -> Tensor:
    """docs/backward_trace.md's sample: w = (0.5, −0.25), b = 0.1, x = (1, 2), label 1."""
    w = _input(np.array([0.5, -0.25]), "w", requires_grad=True)
    b = _input(np.array(0.1), "b", requires_grad=True)
    z = (w * np.array([1.0, 2.0])).sum() + b
    return -z.sigmoid().log()


def _mlp() -> Tensor:
    from . import nn

    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    _named(model)
    x = _input(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    return nn.functional.cross_entropy(model(x), np.array([0, 2, 1, 1, 0]))


def _lstm() -> Tensor:
    from . import nn

    lstm, head = nn.LSTM(2, 3), nn.Linear(3, 1)
    _named(lstm), _named(head)
    x = _input(np.random.default_rng(0).standard_normal((4, 1, 2)).astype(np.float32))
    output, _ = lstm(x)
    return nn.functional.mse_loss(head(output[-1]), np.ones((1, 1), np.float32))


def _attention() -> Tensor:
    from . import nn

    attention = nn.MultiheadAttention(4, 2, batch_first=True)
    _named(attention)
    x = _input(np.random.default_rng(0).standard_normal((1, 3, 4)).astype(np.float32))
    causal = np.triu(np.ones((3, 3), bool), 1)
    out = attention(x, x, x, attn_mask=causal, need_weights=False)[0]
    return (out * out).mean()


EXAMPLES = {"xor": _xor, "e5": _logistic_regression, "mlp": _mlp, "lstm": _lstm,
            "attention": _attention}  # fmt: skip


def example_loss(name: str) -> Tensor:
    """The loss of one step of a teaching example, its parameters named: 'xor' (E1's 2-3-1
    network), 'e5' (docs/backward_trace.md's logistic regression), 'mlp', 'lstm' (an LSTM
    over 4 steps) or 'attention' (causal self-attention), with seed 0."""
    from . import manual_seed

    if name not in EXAMPLES:
        raise ValueError(f"explore: no example {name!r}; choose from {', '.join(EXAMPLES)}")
    manual_seed(0)
    loss = EXAMPLES[name]()
    loss.name = "loss"
    return loss
