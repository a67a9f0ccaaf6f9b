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


class TanhFromSavedArray(tl.Function):
    """tanh whose backward multiplies by a constant made from the saved output: right once,
    wrong when differentiated again (the symmetric term -2y(1-y²) is dropped)."""

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, gy):
        return gy * tl.Tensor(1 - self.y**2)


def test_second_order_catches_a_backward_built_from_a_saved_array():
    x = np.linspace(-1.0, 1.0, 4)
    assert tl.testing.check_gradients(TanhFromSavedArray.apply, x).passed
    report = tl.testing.check_gradients(TanhFromSavedArray.apply, x, second_order=True)
    assert not report.passed and "second derivatives" in str(report)
    with pytest.raises(tl.GradcheckError):
        tl.gradgradcheck(TanhFromSavedArray.apply, tl.tensor(x, requires_grad=True))


class TanhLayer(nn.Module):
    def forward(self, x):
        return TanhFromSavedArray.apply(x)


def test_check_module_exposes_second_order_and_a_batch_mixing_layer_can_be_checked():
    report = tl.testing.check_module(TanhLayer(), (3,), second_order=True)
    assert not report.passed and "second derivatives" in str(report)
    batch_norm = nn.BatchNorm1d(3)
    assert not tl.testing.check_module(batch_norm, (3,), batch_sizes=(3,)).passed
    report = tl.testing.check_module(batch_norm, (3,), batch_sizes=(3,), batch_independence=False)
    assert report.passed, str(report)


class SlightlyWrongSquare(tl.Function):
    """y = x², with a gradient off by a factor 1.001: only the error model sees it."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        (x,) = self.inputs
        return gy * 2.002 * x


def test_a_bug_only_the_error_model_sees_is_localized_and_reproducible():
    report = tl.testing.check_gradients(
        lambda t: SlightlyWrongSquare.apply(t.sin()).sum(), np.linspace(0.5, 1.5, 4)
    )
    assert not report.passed
    assert report.culprit and report.culprit.startswith("SlightlyWrongSquare")
    direct = tl.testing.check_gradients(SlightlyWrongSquare.apply, np.linspace(0.5, 1.5, 4))
    assert "from tests.testing.test_checker_holes import SlightlyWrongSquare" in direct.reproduction
    assert "target = SlightlyWrongSquare.apply" in direct.reproduction
    assert not tl.testing.check_gradients(SlightlyWrongSquare, np.ones(3)).passed  # the class


class NaNGradient(tl.Function):
    def forward(self, x):
        return x * 1.0

    def backward(self, gy):
        return gy * tl.Tensor(np.full(gy.shape, np.nan))


def test_a_report_with_nan_in_a_2d_gradient_prints_and_raises_cleanly():
    report = tl.testing.check_gradients(NaNGradient.apply, np.ones((3, 4)))
    text = str(report)
    assert "FAIL" in text and "!" in report["input 0"].heat_map()
    assert report["input 0"].failing.shape == (3, 4) and report["input 0"].failing.all()
    with pytest.raises(tl.GradcheckError):
        report.raise_if_failed()


def test_relative_error_stays_meaningful_near_zero():
    report = tl.testing.check_gradients(
        lambda t: t * tl.tensor(np.array([1.0, 0.0])) + 1e-200 * t * t, np.array([1.0, 1e-300])
    )
    for check in report.checks:
        assert check.comparison.max_rel_error <= 2


class BatchNormConstantStatistics(tl.Function):
    """Batch normalization whose backward treats the batch mean and variance as constants: the
    classic bug docs/derivations/layers.md warns of (it drops two terms of the gradient)."""

    def forward(self, x):
        self.scale = 1 / np.sqrt(x.var(axis=0) + 1e-5)
        return (x - x.mean(axis=0)) * self.scale

    def backward(self, gy):
        return gy * tl.tensor(self.scale)


def test_the_classic_batch_norm_backward_bug_is_caught_and_the_right_one_passes():
    x = np.random.default_rng(4).standard_normal((5, 3))
    report = tl.testing.check_gradients(BatchNormConstantStatistics.apply, x)
    assert not report.passed
    right = tl.testing.check_gradients(
        lambda t: nn.functional.batch_norm(t, None, None, training=True), x
    )
    assert right.passed, right
