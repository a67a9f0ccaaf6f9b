"""Planted bugs that used to fool the gradient checkers, and correct layers that used to fail
them: each is now caught (or passes) and the report says what is wrong."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


class LinearTransposedGrad(tl.Function):
    """y = x Wᵀ with the weight gradient transposed (gyᵀ x would be right)."""

    def forward(self, x, w):
        return x @ w.T

    def backward(self, gy):
        x, w = self.inputs
        return gy @ w, (gy.T @ x).T


class SquareLayer(nn.Module):
    def __init__(self, n=4):
        self.weight = nn.Parameter(np.random.default_rng(3).standard_normal((n, n)))

    def forward(self, x):
        return LinearTransposedGrad.apply(x, self.weight)


def test_check_module_catches_a_transposed_weight_gradient_at_batch_1():
    report = tl.testing.check_module(SquareLayer(), (4,), batch_sizes=(1,))
    assert not report.passed and not report["batch 1: weight"].passed


class ClipsIncomingGradient(tl.Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        np.clip(gy.data, -0.5, 0.5, out=gy.data)
        return gy * 2


class ScalesIncomingGradient(tl.Function):
    def forward(self, x):
        return x * 3

    def backward(self, gy):
        gy *= 3
        return gy


@pytest.mark.parametrize("op", [ClipsIncomingGradient, ScalesIncomingGradient])
def test_a_backward_writing_into_its_incoming_gradient_is_named(op):
    x = tl.tensor(np.linspace(-1, 1, 5), dtype=np.float64, requires_grad=True)
    with pytest.raises(tl.GradcheckError, match="modified its incoming gradient in place"):
        tl.gradcheck(op.apply, x)
    report = tl.testing.check_gradients(op.apply, x.numpy())
    assert not report.passed and "modified its incoming gradient in place" in str(report)
    with pytest.raises(RuntimeError, match="modified its incoming gradient in place"):
        op.apply(x).sum().backward()
