"""Watch backprop happen: `with tl.trace():` (or `loss.backward(trace=True)`) prints every step
of the backward pass, newest op first: the op, its output and input shapes, the gradient that
arrives at its output, and the gradient it passes to each input.

Small tensors are printed in full, large ones as a summary, so a student can compare each line
with a hand calculation (docs/backward_trace.md does this for logistic regression).
"""

from __future__ import annotations

import contextlib
import sys
from typing import TextIO

import numpy as np

from . import autograd
from .tensor import Tensor


def describe(t: Tensor, max_values: int = 8) -> str:
    """Values for small tensors, shape and statistics for large ones."""
    values = t.numpy()
    if values.size <= max_values:
        return np.array2string(values, precision=4, separator=", ", suppress_small=True)
    return (
        f"<{values.shape} mean {values.mean():.4g}, min {values.min():.4g}, max {values.max():.4g}>"
    )


def node_name(t: Tensor) -> str:
    """A tensor's label: its .name if set, else the op that made it (with its tape position)."""
    if t.name:
        return t.name
    if t.creator is None:
        return f"leaf{t.shape}"
    return f"{type(t.creator).__name__}#{t.creator.seq}"


class TracePrinter:
    """A backward hook that prints one block per step and keeps the lines in `.lines`."""

    def __init__(self, file: TextIO | None, max_values: int):  # file None: sys.stdout at print time
        self.file, self.max_values, self.lines, self.step = file, max_values, [], 0

    def __call__(self, fn, gy: Tensor, gxs: tuple) -> None:
        self.step += 1
        output = fn.output()
        label = (
            output.name if output is not None and output.name else f"{type(fn).__name__}#{fn.seq}"
        )
        shapes = ", ".join(str(x.shape) for x in fn.inputs)
        block = [
            f"step {self.step}: {label} = {type(fn).__name__}({shapes}) -> {gy.shape}",
            f"    gradient in:  {describe(gy, self.max_values)}",
        ]
        for i, (x, gx) in enumerate(zip(fn.inputs, gxs)):
            if gx is not None and fn.needs_input_grad[i]:
                block.append(f"    to {node_name(x)}: {describe(gx, self.max_values)}")
        self.lines.extend(block)
        print("\n".join(block), file=self.file or sys.stdout)


@contextlib.contextmanager
def trace(file: TextIO | None = None, max_values: int = 8):
    """Print each backward step run inside the block to `file` (default: sys.stdout); the
    printer it yields also keeps the lines in `.lines`.

    >>> import tinygrad_lite as tl
    >>> x = tl.tensor([2.0], requires_grad=True); x.name = "x"
    >>> with tl.trace():
    ...     (x * x).sum().backward()
    step 1: Sum#... = Sum((1,)) -> ()
        gradient in:  1.
        to Mul#...: [1.]
    step 2: Mul#... = Mul((1,), (1,)) -> (1,)
        gradient in:  [1.]
        to x: [2.]
        to x: [2.]
    """
    printer = TracePrinter(file, max_values)
    autograd.backward_hooks().append(printer)
    try:
        yield printer
    finally:
        autograd.backward_hooks().remove(printer)
