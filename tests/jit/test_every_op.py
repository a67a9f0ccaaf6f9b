"""Every op can be captured: for each op spec (tests/ops/specs.py: every differentiable op, its
domain and parameters), a step that runs the op forward and backward replays bit-identically to
eager on inputs it was not captured with."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl

from ..ops.specs import SPECS


def _step(spec, params, weights):
    def step(*xs):
        for x in xs:
            x.grad = None
        ys = spec.fn(*xs, **params)
        ys = ys if isinstance(ys, tuple) else (ys,)
        loss = sum((y * w).sum() for y, w in zip(ys, weights))
        loss.backward()
        return loss

    return step


def _run(step, arrays):
    xs = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    loss = step(*xs)
    return [loss.data.tobytes()] + [None if x.grad is None else x.grad.data.tobytes() for x in xs]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_every_op_replays_bit_identically(spec, data):
    arrays, params = spec.draw(data)
    ys = spec.fn(*[tl.Tensor(a) for a in arrays], **params)
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(y.shape) for y in (ys if isinstance(ys, tuple) else (ys,))]
    others = [a.reshape(-1)[::-1].reshape(a.shape).copy() for a in arrays]  # same domain
    eager, jitted = _step(spec, params, weights), tl.jit(_step(spec, params, weights))
    for batch in (arrays, arrays, others, arrays):
        assert _run(jitted, batch) == _run(eager, batch)
    assert jitted.captures == 1 and jitted.eager_reason is None
