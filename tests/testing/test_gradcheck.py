"""tl.gradcheck itself: it must reject wrong backward rules and say clearly where they are wrong."""

import numpy as np
import pytest

import tinygrad_lite as tl


def f64(*shape, seed=0, requires_grad=True):
    return tl.Tensor(
        np.random.default_rng(seed).standard_normal(shape), requires_grad=requires_grad
    )


# ---- negative controls: wrong backward rules that a weak checker lets through -------------------
class SoftmaxWithZeroBackward(tl.Function):
    def forward(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def backward(self, gy):
        return gy * 0  # passes a check that back-propagates ones: softmax rows sum to 1


class SinIgnoringIncomingGradient(tl.Function):
    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        return self.inputs[0].cos()  # should be gy * cos(x); equal when gy is all ones


class AddWithoutReducing(tl.Function):
    def forward(self, a, b):
        return a + b  # NumPy broadcasts b

    def backward(self, gy):
        return gy, gy  # b's gradient must be summed back to b's shape


class MatMulWithTransposedGradient(tl.Function):
    def forward(self, a, b):
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        return gy @ b, a.T @ gy  # should be gy @ b.T


class SquareWithDetachedBackward(tl.Function):
    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * tl.Tensor(2 * self.inputs[0].data)  # right value, but cut off from the graph


def test_gradcheck_rejects_softmax_with_zero_backward():
    with pytest.raises(tl.GradcheckError, match="gradient of input 0"):
        tl.gradcheck(SoftmaxWithZeroBackward.apply, f64(2, 5))


def test_gradcheck_rejects_sin_ignoring_incoming_gradient():
    with pytest.raises(tl.GradcheckError, match="gradient of input 0"):
        tl.gradcheck(SinIgnoringIncomingGradient.apply, f64(4))


def test_gradcheck_rejects_add_that_does_not_reduce_broadcast_gradient():
    with pytest.raises(
        tl.GradcheckError, match=r"shape \(3, 4\) \(float64\) for input 1 of shape \(4,\)"
    ):
        tl.gradcheck(AddWithoutReducing.apply, (f64(3, 4), f64(4, seed=1)))


def test_gradcheck_rejects_transposed_matmul_gradient():
    with pytest.raises(tl.GradcheckError, match="gradient of input 0"):
        tl.gradcheck(MatMulWithTransposedGradient.apply, (f64(3, 3), f64(3, 3, seed=1)))


def test_gradgradcheck_rejects_backward_that_is_not_differentiable():
    assert tl.gradcheck(SquareWithDetachedBackward.apply, f64(3))  # first order is right
    with pytest.raises(tl.GradcheckError):
        tl.gradgradcheck(SquareWithDetachedBackward.apply, f64(3))


def test_backpropagating_ones_would_have_missed_these_bugs():
    """Why gradcheck uses a random upstream gradient: with ones, both wrong rules look right."""
    x = f64(2, 5)
    (g,) = tl.grad(SoftmaxWithZeroBackward.apply(x), x, grad_outputs=np.ones((2, 5)))
    (truth,) = tl.grad(tl.softmax(x), x, grad_outputs=np.ones((2, 5)))
    np.testing.assert_allclose(g.numpy(), truth.numpy(), atol=1e-12)
    y = f64(4)
    (g,) = tl.grad(SinIgnoringIncomingGradient.apply(y), y, grad_outputs=np.ones(4))
    (truth,) = tl.grad(tl.sin(y), y, grad_outputs=np.ones(4))
    np.testing.assert_allclose(g.numpy(), truth.numpy())


# ---- the report -------------------------------------------------------------------------------
def test_gradcheck_report_names_input_element_values_and_errors():
    a, b = f64(3, 3), f64(3, 3, seed=1)
    with pytest.raises(tl.GradcheckError) as failure:
        tl.gradcheck(MatMulWithTransposedGradient.apply, (a, b))
    message = str(failure.value)
    assert "FAIL input 0 (3, 3)" in message and "ok   input 1 (3, 3)" in message
    assert "element (" in message and "analytic" in message and "numeric" in message
    assert "> bound" in message and "max abs error" in message and "max rel error" in message
    assert "first wrong op: MatMulWithTransposedGradient" in message


def test_gradcheck_returns_false_instead_of_raising_when_asked():
    assert tl.gradcheck(SinIgnoringIncomingGradient.apply, f64(4), raise_exception=False) is False


def test_gradcheck_passes_correct_ops_with_several_outputs():
    x, w = f64(2, 3), f64(3, seed=1)
    assert tl.gradcheck(lambda x, w: (x * w, (x @ w).tanh()), (x, w))
    assert tl.gradgradcheck(lambda x, w: (x * w, (x @ w).tanh()), (x, w))


def test_gradcheck_skips_inputs_that_do_not_require_grad():
    x, c = f64(3), f64(3, requires_grad=False)
    assert tl.gradcheck(lambda x, c: x * c, (x, c))


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input has requires_grad=True"):
        tl.gradcheck(lambda x: x * 2, f64(3, requires_grad=False))


class SoftplusOffByOnePerMille(tl.autograd.Function):
    """softplus with a backward 0.1% too large: a bug a default tolerance of 1e-3 would pass."""

    def forward(self, x):
        return np.logaddexp(0, x)

    def backward(self, gy):
        return gy * self.inputs[0].sigmoid() * 1.001


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradcheck_catches_a_backward_wrong_by_a_tenth_of_a_percent(dtype):
    x = tl.tensor(np.linspace(-3, 3, 7), dtype=dtype, requires_grad=True)
    assert not tl.gradcheck(SoftplusOffByOnePerMille.apply, x, raise_exception=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_gradcheck_passes_a_correct_op_on_low_precision_inputs(dtype):
    """Checked as code in that dtype against a float64 oracle: rounding is no failure."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = tl.tensor(rng.standard_normal(20) * 3, dtype=dtype, requires_grad=True)
        assert tl.gradcheck(lambda t: t.softplus() * t.tanh(), x)


def test_gradgradcheck_warns_on_float32_inputs():
    x = tl.randn(3, requires_grad=True)
    with pytest.warns(UserWarning, match="gradgradcheck: input 0 is float32"):
        tl.gradgradcheck(lambda t: t * t, x, atol=1e-2, rtol=1e-2, eps=1e-3)


def test_gradcheck_leaves_the_users_inputs_untouched():
    x = f64(3)
    before = x.numpy().copy()
    tl.gradcheck(lambda t: t.exp(), x)
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None
