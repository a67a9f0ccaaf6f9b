"""The error-model checker: Richardson estimates and bounds, kinks, replayed random numbers, the
float32-code/float64-oracle mode, reproduction snippets, and create_graph refusing a backward
that is not differentiable."""

import contextlib
import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.testing import strategies
from tinygrad_lite.testing.error_model import RELATIVE_FLOOR, SAFETY, richardson


def test_richardson_is_far_more_accurate_than_its_bound_needs():
    x = tl.Tensor(np.array([0.3, -1.2, 2.5]), requires_grad=True)
    fn = lambda t: (t.sin() * t.exp()).sum()  # noqa: E731
    exact = np.cos(x.numpy()) * np.exp(x.numpy()) + np.sin(x.numpy()) * np.exp(x.numpy())
    c = richardson(fn, [x], 0, [np.array(1.0)], exact)
    assert np.abs(c.numeric - exact).max() < 1e-9
    modelled = SAFETY * (c.truncation + c.rounding)
    assert (c.errors <= c.bound).all() and (modelled < 1e-7).all()
    # the floor (a tenth of a millionth of the value) is what passes cancellation's rounding
    np.testing.assert_allclose(c.bound, np.maximum(modelled, RELATIVE_FLOOR * np.abs(exact)))
    assert (c.truncation >= 0).all() and (c.rounding > 0).all() and not c.kinks.any()


def test_a_relative_error_of_1e_minus_4_is_caught_where_rtol_1e_minus_3_would_pass():
    x = np.linspace(-2, 2, 7)
    c = richardson(lambda t: (t * t * t).sum(), [tl.Tensor(x, requires_grad=True)],
                   0, [np.array(1.0)], 3 * x * x * (1 + 1e-4))  # fmt: skip
    assert not c.passed
    assert "truncation" in c.describe_element(c.worst_elements(1)[0])


def test_kinks_are_reported_not_failed_but_wrong_slopes_elsewhere_still_fail():
    x = np.array([[0.0, 1.0], [-1.0, 0.0]])
    report = tl.testing.check_gradients(lambda t: tl.relu(t) * 2.0, x)
    assert report.passed and "kink" in " ".join(report.warnings)

    class Wrong(tl.Function):
        def forward(self, x):
            return np.maximum(x, 0)

        def backward(self, gy):
            wrong_below_zero = self.inputs[0].data >= -1  # the true slope is 0 on [-1, 0)
            return gy * tl.Tensor(wrong_below_zero.astype(gy.dtype))

    report = tl.testing.check_gradients(lambda t: Wrong.apply(t), np.array([0.0, -0.7, 1.0]))
    assert not report.passed and "element (1,)" in str(report)


@given(x=strategies.tensors(shape=(3, 4), elements=strategies.away_from((0.0,), -3, 3)))
def test_smooth_layers_pass_on_drawn_inputs(x):
    tl.manual_seed(0)
    layer = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    assert tl.testing.check_gradients(layer, x).passed


def test_dropout_is_checked_by_replaying_its_random_numbers():
    tl.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), nn.Linear(6, 2))
    before = tl.rand(1).item()
    tl.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), nn.Linear(6, 2))
    report = tl.testing.check_gradients(model, np.random.default_rng(0).standard_normal((3, 4)))
    assert report.passed, str(report)
    assert tl.rand(1).item() == before  # the check consumed none of the user's random numbers

    class ForgetsTheMask(tl.Function):  # a dropout whose backward passes gy through unmasked
        def forward(self, x):
            self.keep = tl.rand(*x.shape, dtype=np.float64).data >= 0.5
            return x * self.keep * 2

        def backward(self, gy):
            return gy * 2.0

    report = tl.testing.check_gradients(lambda t: ForgetsTheMask.apply(t), np.ones((2, 3)))
    assert not report.passed


def test_float32_code_against_a_float64_oracle():
    tl.manual_seed(0)
    layer = nn.Sequential(nn.Linear(20, 30), nn.GELU(), nn.Linear(30, 5))
    x = np.random.default_rng(0).standard_normal((8, 20)).astype(np.float32)
    report = tl.testing.check_gradients(layer, x, code_dtype=np.float32)
    assert report.passed, str(report)
    assert report.settings["code dtype"] == "float32"
    assert layer[0].weight.dtype == np.float32  # the user's layer is untouched

    class HalfPrecisionBackward(tl.Function):  # rounds its gradient through float16
        def forward(self, x):
            return x * 3

        def backward(self, gy):
            return tl.Tensor((gy.data * 3).astype(np.float16).astype(gy.dtype))

    x = np.random.default_rng(1).standard_normal(50).astype(np.float32) * 10
    report = tl.testing.check_gradients(lambda t: HalfPrecisionBackward.apply(t), x,
                                        code_dtype=np.float32)  # fmt: skip
    assert not report.passed


def test_a_failing_report_carries_a_reproduction_that_runs():
    from tinygrad_lite.examples.custom_layer import BuggySwish

    x = np.random.default_rng(0).standard_normal((2, 3))
    report = tl.testing.check_gradients(BuggySwish(), x)
    assert not report.passed and "reproduce with:" in str(report)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(report.reproduction, {})
    assert "gradient check FAILED" in printed.getvalue()
    assert "numpy=" in str(report) and "tinygrad_lite=" in str(report)


def test_create_graph_refuses_a_backward_made_of_raw_arrays():
    class RawSquare(tl.Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return tl.Tensor(2 * self.inputs[0].data * gy.data)  # right, but not differentiable

    x = tl.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    (g,) = tl.grad(RawSquare.apply(x).sum(), [x])  # first order is fine
    assert g.tolist() == [2.0, 4.0]
    y = (RawSquare.apply(x) * x).sum()  # the gradient reaching RawSquare now depends on x
    with pytest.raises(RuntimeError, match="RawSquare.backward is not differentiable"):
        tl.grad(y, [x], create_graph=True)

    class Marked(RawSquare):
        once_differentiable = True

    with pytest.raises(RuntimeError, match="once_differentiable"):
        tl.grad(Marked.apply(x).sum(), [x], create_graph=True)


def test_check_module_checks_eval_determinism_and_no_grad():
    class NoisyInEval(nn.Module):
        def forward(self, x):
            return x + tl.rand(*x.shape, dtype=np.float64) * 1e-3

    report = tl.testing.check_module(NoisyInEval(), input_shape=(3,))
    assert any("eval() is not deterministic" in note for note in report.notes)
    assert tl.testing.check_module(nn.Linear(3, 2), input_shape=(3,)).passed


@given(st.integers(0, 3))
def test_check_module_passes_batchnorm_only_in_eval_mode(seed):
    layer = nn.BatchNorm1d(3).eval()
    assert tl.testing.check_module(layer, input_shape=(3,), seed=seed).passed
