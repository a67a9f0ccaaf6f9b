import numpy as np
import pytest

import tinygrad_lite as tl


def test_add_python_scalar_keeps_float32():
    x = tl.ones(3)
    assert (x * 2.0).dtype == np.float32
    assert (2.0 - x).dtype == np.float32
    assert (x / 3).dtype == np.float32


def test_add_mixed_float_dtypes_promotes_and_casts_gradient_back():
    a = tl.ones(2, dtype=np.float32, requires_grad=True)
    b = tl.ones(2, dtype=np.float64, requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_add_numpy_array_on_the_left_keeps_the_graph():
    x = tl.ones(3, requires_grad=True)
    y = np.arange(3.0, dtype=np.float32) + x
    assert isinstance(y, tl.Tensor) and y.requires_grad
    (np.ones(3, dtype=np.float32) * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(3))


def test_add_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(3,\) and \(4,\) cannot be broadcast"):
        tl.ones(3) + tl.ones(4)


def test_mul_broadcast_gradient_is_reduced_to_each_shape():
    a = tl.ones((3, 1), requires_grad=True)
    b = tl.ones(4, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(4, 3.0))


def test_comparisons_return_bool_tensors_without_grad():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for mask in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2):
        assert mask.dtype == np.bool_ and not mask.requires_grad and mask.creator is None
    np.testing.assert_array_equal((x == 2).numpy(), [False, True, False])


def test_maximum_splits_grad_evenly_at_ties():
    a = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = tl.tensor([2.0, 2.0, 2.0], requires_grad=True)
    tl.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 0.5, 0.0])


def test_pow_constant_exponent_of_negative_base_has_finite_gradient():
    x = tl.tensor([-2.0, 3.0], requires_grad=True)
    (x**2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-4.0, 6.0])


def test_clip_passes_gradient_at_the_bounds():
    x = tl.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1, 1, 0])


def test_where_requires_bool_condition():
    with pytest.raises(TypeError, match="where: condition must be a bool"):
        tl.where(tl.ones(2), tl.ones(2), tl.zeros(2))


def test_where_routes_gradient_by_condition():
    a, b = tl.ones(3, requires_grad=True), tl.ones(3, requires_grad=True)
    tl.where(tl.tensor([True, False, True]), a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1, 0, 1])
    np.testing.assert_array_equal(b.grad.numpy(), [0, 1, 0])
