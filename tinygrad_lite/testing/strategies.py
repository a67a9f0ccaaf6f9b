"""Hypothesis strategies for property tests of your own ops and layers (needs hypothesis).

@given(x=tensors(shape=shapes(min_dims=1), kinks=(0.0,)))
def test_my_relu(x):
    tl.testing.check_gradients(my_relu, x).raise_if_failed()
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..tensor import Tensor


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4):
    """Array shapes, e.g. (), (3,), (2, 1, 4)."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    num_shapes: int = 2, max_dims: int = 3, min_side: int = 1, max_side: int = 4
):
    """Tuples of shapes that broadcast together by NumPy's rules, e.g. ((3, 1), (4,))."""
    strategy = hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, max_dims=max_dims, min_side=min_side, max_side=max_side
    )
    return strategy.map(lambda drawn: drawn.input_shapes)


def away_from(kinks, low: float, high: float, margin: float = 1e-3):
    """Floats in [low, high] at least `margin` from every kink (where a derivative jumps, finite
    differences measure a different slope, so a correct gradient would look wrong)."""
    values = st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    return values.filter(lambda v: all(abs(v - k) >= margin for k in kinks))


def tensors(shape=None, dtype=np.float64, low: float = -3.0, high: float = 3.0, kinks=(),
            requires_grad: bool = True, elements=None):  # fmt: skip
    """Tensors of `shape` (a tuple, or a strategy; default `shapes()`), values in [low, high] kept
    away from `kinks`; float64 by default, as gradient checks need."""
    shape = shapes() if shape is None else shape
    shape = shape if isinstance(shape, st.SearchStrategy) else st.just(tuple(shape))
    elements = elements if elements is not None else away_from(kinks, low, high)
    arrays = hnp.arrays(dtype, shape, elements=elements)
    return arrays.map(lambda a: Tensor(a, requires_grad=requires_grad))
