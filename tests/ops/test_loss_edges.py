"""Losses and activations at the edges of their domain: the gradient is finite wherever the loss
is (no 0/0 from a clamped log), matches PyTorch there, and no NumPy RuntimeWarning leaks out of
an op whose result is defined."""

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.nn import functional as F

CORNERS = [(p, t) for p in (0.0, 1.0) for t in (0.0, 1.0)]


def _bce_gradient(p, t, dtype):
    x = tl.tensor([p], dtype=dtype, requires_grad=True)
    loss = F.binary_cross_entropy(x, np.array([t], dtype))
    loss.backward()
    return loss.item(), x.grad.item()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p, t", CORNERS)
def test_bce_at_zero_and_one_has_a_finite_gradient(p, t, dtype):
    loss, grad = _bce_gradient(p, t, dtype)
    assert np.isfinite(loss) and np.isfinite(grad)
    if p == t:
        assert loss == 0 and grad == 0


@pytest.mark.parametrize("t", [0.0, 1.0])
def test_bce_through_a_saturated_sigmoid_is_zero_not_nan(t):
    x = tl.tensor([40.0], requires_grad=True)
    F.binary_cross_entropy(x.sigmoid(), np.array([t], np.float32)).backward()
    assert x.grad.item() == 0


def test_cross_entropy_ignores_minus_infinity_logits_of_other_classes():
    z = tl.tensor([[-np.inf, 0.0]], requires_grad=True)
    loss = F.cross_entropy(z, np.array([1]))
    loss.backward()
    assert loss.item() == 0 and z.grad.tolist() == [[0, 0]]


EDGES = {
    "sqrt(0) backward": lambda: tl.tensor([0.0, 1.0], requires_grad=True).sqrt().sum(),
    "cross_entropy(inf logits)": lambda: F.cross_entropy(
        tl.tensor([[np.inf, 0.0]], requires_grad=True), np.array([0])
    ),
    "bce(p = 0)": lambda: F.binary_cross_entropy(
        tl.tensor([0.0, 1.0], requires_grad=True), np.array([0.0, 1.0], np.float32)
    ),
    "log(0)": lambda: tl.tensor([0.0, 1.0], requires_grad=True).log().sum(),
    "exp(1000)": lambda: tl.tensor([1000.0], requires_grad=True).exp().sum(),
    "std of constants": lambda: tl.tensor([1.0, 1.0], requires_grad=True).std(),
    "logsumexp(inf)": lambda: tl.tensor([np.inf, 0.0], requires_grad=True).logsumexp(),
}


@pytest.mark.parametrize("make", EDGES.values(), ids=EDGES.keys())
def test_no_numpy_warning_leaks_from_ops(make):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make().backward()


def test_bce_corners_match_pytorch():
    torch = pytest.importorskip("torch")
    for dtype, torch_dtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
        for p, t in CORNERS:
            x = torch.tensor([p], dtype=torch_dtype, requires_grad=True)
            expected = torch.nn.functional.binary_cross_entropy(
                x, torch.tensor([t], dtype=torch_dtype)
            )
            expected.backward()
            loss, grad = _bce_gradient(p, t, dtype)
            assert loss == pytest.approx(expected.item())
            assert grad == pytest.approx(x.grad.item(), rel=1e-6)
