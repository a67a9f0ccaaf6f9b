"""Forward values and gradients agree with PyTorch CPU in float64 (skipped when torch is absent)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl

from .specs import SPECS

torch = pytest.importorskip("torch")

TOLERANCE = {"rtol": 1e-9, "atol": 1e-12}


def _as_tuple(y):
    return tuple(y) if isinstance(y, (tuple, list)) else (y,)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=max(1, settings.default.max_examples * 3 // 4))
@given(data=st.data())
def test_matches_torch(spec, data):
    arrays, params = spec.draw(data)
    ours = [tl.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ys = _as_tuple(spec.fn(*ours, **params))
    ts = _as_tuple(spec.torch_fn(*theirs, **params))
    assert len(ys) == len(ts)
    for y, t in zip(ys, ts):
        assert y.shape == tuple(t.shape), f"{spec.name}: shape {y.shape} vs torch {tuple(t.shape)}"
        np.testing.assert_allclose(y.numpy(), t.detach().numpy(), **TOLERANCE)

    rng = np.random.default_rng(0)
    upstream = [rng.standard_normal(y.shape) for y in ys]
    grads = tl.grad(ys, ours, grad_outputs=upstream, allow_unused=True)
    torch.autograd.backward(ts, [torch.from_numpy(v) for v in upstream])
    for i, (g, t) in enumerate(zip(grads, theirs)):
        expected = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        actual = np.zeros(t.shape) if g is None else g.numpy()
        np.testing.assert_allclose(actual, expected, err_msg=f"{spec.name}: grad {i}", **TOLERANCE)
