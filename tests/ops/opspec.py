"""OpSpec: how one op is tested (inputs, parameters, domain, PyTorch twin), and the shape strategies
that many specs share. The spec lists are in specs.py (ops) and loss_specs.py (losses)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def shapes(min_dims=0, max_dims=3, min_side=0, max_side=4):
    """Strategy factory: one input of any shape, size-0 and size-1 sides included by default."""
    strategy = hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )
    return lambda data: (data.draw(strategy),)


def broadcast_pair(min_side=0):
    """Two shapes that broadcast together (NumPy's rules), e.g. (3, 1) and (4,)."""
    strategy = hnp.mutually_broadcastable_shapes(
        num_shapes=2, max_dims=3, min_side=min_side, max_side=4
    )
    return lambda data: data.draw(strategy).input_shapes


@dataclass(frozen=True)
class OpSpec:
    """How to test one op.

    fn and torch_fn take the input tensors (ours or torch's) and the drawn keyword parameters.
    `low`/`high` bound the values; `kinks` are points where the derivative jumps, which drawn
    values are kept away from; `distinct` spreads all values apart so max/min have no ties.
    """

    name: str
    fn: Callable
    torch_fn: Callable | None
    input_shapes: Callable = shapes()
    params: Callable = lambda data, input_shapes: {}
    low: float | tuple[float, ...] = -2.0
    high: float | tuple[float, ...] = 2.0
    kinks: tuple[float, ...] = ()
    distinct: bool = False
    smooth: bool = True
    tolerances: dict = field(default_factory=dict)
    case: Callable | None = None  # draws (input_shapes, params) together, when they must agree

    def draw(self, data, dtype=np.float64) -> tuple[list[np.ndarray], dict]:
        if self.case is not None:
            input_shapes, params = self.case(data)
        else:
            input_shapes = self.input_shapes(data)
            params = self.params(data, input_shapes)
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
        if self.distinct:
            arrays = _distinct_values(rng, input_shapes, self.low, self.high)
        else:
            lows, highs = (
                np.broadcast_to(self.low, len(input_shapes)),
                np.broadcast_to(self.high, len(input_shapes)),
            )
            arrays = [rng.uniform(lo, hi, s) for s, lo, hi in zip(input_shapes, lows, highs)]
        for kink in self.kinks:  # NOTE: finite differences across a kink measure a different slope
            for a in arrays:
                a[np.abs(a - kink) < 0.01] += 0.05
        return [a.astype(dtype) for a in arrays], params


def _distinct_values(rng, input_shapes, low, high):
    """Values on a shuffled grid with jitter: any two differ by far more than the gradcheck step."""
    sizes = [math.prod(s) for s in input_shapes]
    total = max(sum(sizes), 1)
    grid = (rng.permutation(total) + rng.uniform(0.2, 0.8, total)) / total
    values = low + (high - low) * grid
    ends = np.cumsum(sizes)
    return [values[end - n : end].reshape(s) for s, n, end in zip(input_shapes, sizes, ends)]
