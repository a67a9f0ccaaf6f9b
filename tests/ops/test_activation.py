import numpy as np
import pytest

import tinygrad_lite as tl

STABLE = ["sigmoid", "tanh", "softplus", "relu", "leaky_relu", "gelu", "softmax", "log_softmax"]


@pytest.mark.parametrize("name", STABLE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_is_finite_at_plus_minus_1000(name, dtype):
    x = tl.tensor(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]), dtype=dtype, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # NOTE: even if masked later
        y = getattr(tl, name)(x)
        y.backward(tl.ones_like(y))
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_sigmoid_limits():
    y = tl.sigmoid(tl.tensor([-1000.0, 1000.0], dtype=np.float64)).numpy()
    assert y[0] == 0.0 and y[1] == 1.0


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_sigmoid_of_16_bit_inputs_keeps_the_small_values(dtype):
    if dtype == "bfloat16":
        pytest.importorskip("ml_dtypes")
    x = np.array([-16.0, -12.0, 0.0, 12.0])
    y = tl.sigmoid(tl.tensor(x, dtype=dtype)).numpy().astype(np.float64)
    want = 1 / (1 + np.exp(-x))
    # NOTE: exp(-x) overflows float16 below x = -11; atol: the smallest float16 subnormal
    np.testing.assert_allclose(y, want, rtol=1e-2, atol=6e-8)
    assert y[0] > 0


def test_log_softmax_of_huge_logits():
    y = tl.log_softmax(tl.tensor([1000.0, 0.0], dtype=np.float64)).numpy()
    np.testing.assert_allclose(y, [0.0, -1000.0])


def test_relu_gradient_at_zero_is_zero():
    x = tl.tensor([0.0], requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.item() == 0.0


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu: approximate must be"):
        tl.gelu(tl.ones(1), approximate="fast")


def test_softmax_rows_sum_to_one():
    y = tl.softmax(tl.randn(4, 5), axis=1).numpy()
    np.testing.assert_allclose(y.sum(axis=1), np.ones(4), rtol=1e-6)
