"""Numbers (Python or NumPy) and 0-d tensors are weakly typed, as in PyTorch: they never widen a
float32 tensor to float64. PyTorch decides the expected dtype where it is installed."""

import numpy as np
import pytest

import tinygrad_lite as tl

CASES = [
    ("np.float64 * f32", lambda t, i: np.float64(2.0) * t),
    ("f32 + np.int64", lambda t, i: t + np.int64(3)),
    ("0-d f64 tensor * f32", lambda t, i: tl.tensor(2.0, dtype=np.float64) * t),
    ("f32 - np.float64", lambda t, i: t - np.float64(0.5)),
    ("f32 ** np.float64", lambda t, i: t ** np.float64(2.0)),
    ("np.float64 / f32", lambda t, i: np.float64(1.0) / t),
    ("int * 2.5", lambda t, i: i * 2.5),
    ("int * np.float64", lambda t, i: i * np.float64(2.5)),
    ("int * 0-d f64 tensor", lambda t, i: i * tl.tensor(2.5, dtype=np.float64)),
    ("int + 1", lambda t, i: i + 1),
    ("maximum(f32, np.float64)", lambda t, i: tl.maximum(t, np.float64(0.5))),
    ("where(c, f32, np.float64)", lambda t, i: tl.where(t > 1, t, np.float64(0.0))),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_numbers_and_0d_tensors_do_not_widen(case):
    _, fn = case
    result = fn(tl.tensor([1.0, 2.0, 3.0]), tl.tensor([1, 2, 3]))
    expected = np.int64 if case[0] == "int + 1" else np.float32
    expected = np.float64 if case[0] == "int * 0-d f64 tensor" else expected
    assert result.dtype == expected


def test_clip_with_numpy_bounds_keeps_float32():
    t = tl.tensor([-1.0, 0.5, 2.0])
    y = tl.clip(t, np.float64(0), np.float64(1))
    assert y.dtype == np.float32 and y.tolist() == [0, 0.5, 1]


def test_a_float32_model_step_with_a_numpy_learning_rate_stays_float32():
    w = tl.randn(3, requires_grad=True)
    (w * w).sum().backward()
    lr = np.float64(0.1)
    with tl.no_grad():
        w -= lr * w.grad
    assert w.dtype == np.float32 and (lr * w.grad).dtype == np.float32


def test_promotion_matches_pytorch():
    torch = pytest.importorskip("torch")
    pairs = [
        (np.float64(2.0), tl.tensor([1.0]), torch.tensor(2.0, dtype=torch.float64), torch.ones(1)),
        (tl.tensor([1, 2]), 2.5, torch.tensor([1, 2]), 2.5),
        (tl.tensor([1, 2]), tl.tensor(2.5, dtype=np.float64),
         torch.tensor([1, 2]), torch.tensor(2.5, dtype=torch.float64)),
        (tl.tensor([True]), 1, torch.tensor([True]), 1),
        (tl.tensor([1.0], dtype=np.float64), np.float32(2.0), torch.ones(1, dtype=torch.float64),
         torch.tensor(2.0)),
    ]  # fmt: skip
    for a, b, ta, tb in pairs:
        assert str((a * b).dtype) == str((ta * tb).dtype).removeprefix("torch.")
