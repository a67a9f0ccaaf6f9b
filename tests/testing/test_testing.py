"""tl.testing finds planted backward bugs of several kinds and points at the right tensor."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn


def linear_with(backward_rule):
    """A custom linear layer y = x @ Wᵀ + b whose backward is `backward_rule(x, w, gy)`."""

    class LinearOp(tl.Function):
        def forward(self, x, w, b):
            return x @ w.T + b

        def backward(self, gy):
            x, w, _ = self.inputs
            return backward_rule(x, w, gy)

    class CustomLinear(nn.Module):
        def __init__(self):
            tl.manual_seed(0)
            self.weight = nn.Parameter(
                np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32)
            )
            self.bias = nn.Parameter(np.zeros(3, dtype=np.float32))

        def forward(self, x):
            return LinearOp.apply(x, self.weight, self.bias)

    return CustomLinear()


CORRECT = lambda x, w, gy: (gy @ w, gy.T @ x, gy.sum(axis=0))
x = np.random.default_rng(1).standard_normal((4, 3))


def test_a_correct_custom_layer_passes():
    report = tl.testing.check_gradients(linear_with(CORRECT), x)
    assert report.passed, str(report)
    assert [c.name for c in report.checks] == ["input 0", "weight", "bias"]


def test_transposed_weight_gradient_is_caught_at_the_weight():
    report = tl.testing.check_gradients(
        linear_with(lambda x, w, gy: (gy @ w, (gy.T @ x).T, gy.sum(axis=0))), x
    )
    assert not report.passed
    assert not report["weight"].passed and report["input 0"].passed and report["bias"].passed
    assert "LinearOp" in report.culprit and "input 1" in report.culprit
    text = str(report)
    assert "FAIL weight (3, 3)" in text and "element (" in text and "|" in text  # heat map


def test_sign_error_is_caught_at_the_input():
    report = tl.testing.check_gradients(
        linear_with(lambda x, w, gy: (-(gy @ w), gy.T @ x, gy.sum(axis=0))), x
    )
    assert not report["input 0"].passed and report["weight"].passed


def test_a_gradient_that_ignores_a_parameter_is_caught():
    report = tl.testing.check_gradients(linear_with(lambda x, w, gy: (gy @ w, gy.T @ x, None)), x)
    assert not report["bias"].passed and report["weight"].passed


def test_missing_broadcast_reduction_is_reported_not_crashed():
    report = tl.testing.check_gradients(linear_with(lambda x, w, gy: (gy @ w, gy.T @ x, gy)), x)
    assert not report.passed
    assert "shape (4, 3) (float64) for input 2 of shape (3,)" in report.notes[0]


def test_first_wrong_op_is_named_inside_a_composite():
    class BadSquare(tl.Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return gy * self.inputs[0]  # should be 2·x·gy

    report = tl.testing.check_gradients(lambda t: (BadSquare.apply(t.tanh()) + 1).log(), x)
    assert not report.passed and report.culprit.startswith("BadSquare")


def test_batch_mixing_is_detected():
    class CentreOverBatch(nn.Module):  # a bug: normalizes by the batch's mean
        def forward(self, x):
            return x - x.mean(axis=0, keepdims=True)

    report = tl.testing.check_module(CentreOverBatch(), input_shape=(3,), batch_sizes=(1, 3))
    assert not report.passed
    assert any("the output of sample 0 depends on the input of sample" in n for n in report.notes)


def test_check_module_passes_real_layers_and_leaves_them_untouched():
    tl.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2)
    )
    before = {k: v.copy() for k, v in model.state_dict().items()}
    report = tl.testing.check_module(model, input_shape=(2, 4, 4), batch_sizes=(1, 2))
    assert report.passed, str(report)
    assert model[0].weight.dtype == np.float32  # the check ran on a float64 copy
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_raise_if_failed():
    with pytest.raises(tl.GradcheckError, match="gradient check FAILED"):
        tl.testing.check_gradients(
            linear_with(lambda x, w, gy: (gy @ w, gy.T @ x, None)), x
        ).raise_if_failed()


@settings(max_examples=10)
@given(batch=st.integers(1, 4), features=st.integers(1, 4), outputs=st.integers(1, 3))
def test_linear_layers_pass_across_shapes(batch, features, outputs):
    tl.manual_seed(0)
    layer = nn.Linear(features, outputs)
    data = np.random.default_rng(batch).standard_normal((batch, features))
    assert tl.testing.check_gradients(layer, data).passed


def test_cli_gradcheck_exit_codes_and_report(capsys):
    from tinygrad_lite.cli import main

    target = "tinygrad_lite.examples.custom_layer:{}"
    assert (
        main(
            [
                "gradcheck",
                target.format("Swish"),
                "--input-shape",
                "5",
                "--init-args",
                '{"beta": 1.5}',
            ]
        )
        == 0
    )
    assert "gradient check passed" in capsys.readouterr().out
    assert main(["gradcheck", target.format("BuggySwish"), "--input-shape", "5"]) == 1
    out = capsys.readouterr().out
    assert "FAIL batch 1: beta (1,)" in out and "first wrong op: BuggySwishOp" in out


def test_a_backward_that_ignores_its_incoming_gradient_breaks_linearity():
    class SinIgnoringGy(tl.Function):
        def forward(self, x):
            return np.sin(x)

        def backward(self, gy):
            return self.inputs[0].cos()

    report = tl.testing.check_gradients(lambda t: SinIgnoringGy.apply(t).sum(), x)
    assert any("not linear in its incoming gradient" in note for note in report.notes)


def test_hessian_symmetry_catches_a_detached_backward():
    class MulDetachingB(tl.Function):  # first derivatives right, second derivatives not
        def forward(self, a, b):
            return a * b

        def backward(self, gy):
            a, b = self.inputs
            return gy * tl.Tensor(b.data), gy * a

    pair = (
        np.random.default_rng(2).standard_normal(3),
        np.random.default_rng(3).standard_normal(3),
    )
    first_order = tl.testing.check_gradients(MulDetachingB.apply, *pair)
    assert first_order.passed, str(first_order)
    report = tl.testing.check_gradients(MulDetachingB.apply, *pair, second_order=True)
    assert any("Hessian is not symmetric" in note for note in report.notes)
    assert tl.testing.check_gradients(lambda a, b: (a * b).tanh(), *pair, second_order=True).passed
