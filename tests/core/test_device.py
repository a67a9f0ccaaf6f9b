"""The device API without a GPU: device names, clear errors when CUDA is asked for and missing,
and moving modules between dtypes. The GPU side is in tests/gpu/."""

import sys

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.backend import parse_device
from tinygrad_lite.cuda.launch import supported


@pytest.fixture
def no_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError


@pytest.mark.parametrize(
    "name, expected", [("cpu", "cpu"), ("CPU", "cpu"), ("cuda", "cuda"), ("cuda:0", "cuda")]
)
def test_device_names(name, expected):
    assert parse_device(name) == expected


def test_unknown_device_is_named():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tl.zeros(2).to("tpu")


def test_asking_for_cuda_without_cupy_says_what_to_install(no_cupy):
    assert not tl.cuda.is_available()
    assert tl.cuda.device_count() == 0
    x = tl.ones(3)
    moves = [
        x.cuda,
        lambda: x.to("cuda"),
        lambda: tl.zeros(2, device="cuda"),
        lambda: nn.Linear(2, 2).to("cuda"),
        lambda: tl.Tensor([1.0], device="cuda"),
    ]
    for move in moves:
        with pytest.raises(RuntimeError, match=r'pip install -e "\.\[cuda13\]"'):
            move()


def test_to_the_same_device_is_the_same_tensor():
    x = tl.ones(3, requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x and x.device == "cpu"


def test_to_dtype_is_differentiable():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(dtype=np.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 4.0]


def test_creators_take_a_device():
    for t in (tl.zeros(2, device="cpu"), tl.randn(2, device="cpu"), tl.arange(3, device="cpu"),
              tl.full((2,), 1.0, device="cpu"), tl.eye(2, device="cpu")):  # fmt: skip
        assert t.device == "cpu"


def test_module_to_casts_parameters_buffers_and_grads_in_place():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    weight = model[0].weight
    model(tl.randn(4, 3)).sum().backward()
    optimizer = tl.optim.SGD(model.parameters(), lr=0.1)
    assert model.to(dtype=np.float64) is model
    assert model[0].weight is weight  # the optimizer still holds the same objects
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    assert model[1].running_mean.dtype == np.float64
    assert weight.grad.dtype == np.float64
    optimizer.step()
    assert model.cpu() is model


def test_fused_kernels_never_take_numpy_arrays():
    assert not supported(np.ones(3))
