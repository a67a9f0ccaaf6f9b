import numpy as np
import pytest

import tinygrad_lite as tl


def test_tensor_dtypes_follow_torch_for_python_data_and_numpy_for_arrays():
    assert tl.tensor([1.0, 2.0]).dtype == np.float32
    assert tl.tensor([1, 2]).dtype == np.int64
    assert tl.tensor([True]).dtype == np.bool_
    assert tl.tensor(np.ones(2)).dtype == np.float64
    assert tl.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert tl.Tensor(3.5).shape == ()


def test_tensor_rejects_unsupported_data():
    with pytest.raises(TypeError, match="Tensor: unsupported dtype"):
        tl.tensor(["a", "b"])
    with pytest.raises(TypeError, match="unsupported dtype complex128"):
        tl.tensor(np.ones(2, dtype=complex))


def test_tensor_shares_but_tensor_function_copies():
    data = np.zeros(2)
    shared, copied = tl.Tensor(data), tl.tensor(data)
    data[0] = 1
    assert shared.numpy()[0] == 1 and copied.numpy()[0] == 0


def test_properties():
    x = tl.zeros((2, 3))
    assert (x.shape, x.ndim, x.size, x.dtype, x.device) == ((2, 3), 2, 6, np.float32, "cpu")
    assert x.T.shape == (3, 2) and len(x) == 2 and x.is_leaf


def test_creators():
    assert tl.zeros(2, 3).shape == tl.ones((2, 3)).shape == (2, 3)
    assert tl.full((2,), 7).dtype == np.int64 and tl.full((2,), 0.5).dtype == np.float32
    assert tl.arange(3).dtype == np.int64 and tl.arange(0.0, 1.0, 0.5).dtype == np.float32
    np.testing.assert_array_equal(tl.eye(2).numpy(), np.eye(2))
    like = tl.ones((2, 2), dtype=np.float64)
    assert tl.zeros_like(like).dtype == np.float64 and tl.ones_like(like).numpy().sum() == 4
    r = tl.uniform(1000, low=-2.0, high=-1.0)
    assert -2 <= r.numpy().min() and r.numpy().max() < -1
    assert 0 <= tl.rand(100).numpy().min() and tl.randn(2, 3, dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="random tensors are floating point"):
        tl.randn(2, dtype=np.int32)


def test_manual_seed_makes_random_creators_reproducible():
    tl.manual_seed(42)
    a = (tl.randn(3).numpy(), tl.rand(2).numpy(), tl.uniform(2).numpy())
    tl.manual_seed(42)
    b = (tl.randn(3).numpy(), tl.rand(2).numpy(), tl.uniform(2).numpy())
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_repr_shows_values_dtype_and_graph():
    assert repr(tl.tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(tl.tensor([1.0], dtype=np.float64, requires_grad=True)) == (
        "Tensor([1.], dtype=float64, requires_grad=True)"
    )
    assert repr(tl.tensor([1.0], requires_grad=True) * 2) == "Tensor([2.], creator=Mul)"


def test_conversions():
    x = tl.tensor([[1.5]])
    assert x.item() == 1.5 and float(x) == 1.5 and x.tolist() == [[1.5]]
    assert np.asarray(x).shape == (1, 1)
    with pytest.raises(ValueError, match=r"item: only one-element tensors .* got \(2,\)"):
        tl.ones(2).item()


def test_numpy_functions_without_an_op_are_refused_rather_than_silently_dropping_the_graph():
    y = np.exp(tl.ones(2, requires_grad=True))  # has an op: recorded (tests/core/test_interop.py)
    assert isinstance(y, tl.Tensor) and y.requires_grad
    with pytest.raises(TypeError, match="np.cumsum is not supported"):
        np.cumsum(tl.ones(2, requires_grad=True))


def test_detach_and_requires_grad_():
    x = tl.ones(2, requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf
    z = tl.ones(2).requires_grad_()
    assert z.requires_grad
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        (x * 2).requires_grad_(False)


def test_astype_is_differentiable_and_refuses_int_targets_for_grad_tensors():
    x = tl.ones(2, dtype=np.float64, requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float64
    with pytest.raises(
        TypeError, match="astype: a tensor that requires grad can only become a float"
    ):
        x.astype(np.int32)


def test_the_public_namespaces_need_one_import():
    import subprocess
    import sys

    code = "import tinygrad_lite as tl; tl.nn.Conv2d, tl.optim.Adam, tl.data.Dataset, tl.train.fit"
    subprocess.run([sys.executable, "-c", code], check=True)
