"""float32-code mode (float32 analytic gradient, float64 finite differences) raises no false
alarm on correct layers whose gradients cancel (sums of terms of both signs, saturated softmax),
over 200 random draws each, and still catches float32-only bugs."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.examples.custom_layer import BuggySwish, Swish

N = 4


class L2Normalize(nn.Module):
    def forward(self, x):
        return x / (x * x).sum(axis=-1, keepdims=True).sqrt()


class LayerNorm(nn.Module):
    def __init__(self):
        self.weight = nn.Parameter(np.ones(N, np.float32))
        self.bias = nn.Parameter(np.zeros(N, np.float32))

    def forward(self, x):
        centered = x - x.mean(axis=-1, keepdims=True)
        return centered / (x.var(axis=-1, keepdims=True) + 1e-5).sqrt() * self.weight + self.bias


class Softmax(nn.Module):
    def forward(self, x):
        return x.softmax(axis=-1)


class Attention(nn.Module):
    """softmax(x Q (x K)ᵀ / √n) x: scores of ~10, so rows saturate."""

    def __init__(self):
        self.q = nn.Parameter(tl.randn(N, N).numpy())
        self.k = nn.Parameter(tl.randn(N, N).numpy())

    def forward(self, x):
        scores = (x @ self.q) @ (x @ self.k).T / np.sqrt(N)
        return scores.softmax(axis=-1) @ x


class LogSumExpGate(nn.Module):
    def forward(self, x):
        return x.logsumexp(axis=-1, keepdims=True) * x


class TanhMLP(nn.Module):
    def __init__(self):
        self.a, self.b = nn.Linear(N, 5), nn.Linear(5, N)

    def forward(self, x):
        return self.b(self.a(x).tanh())


class GELUProduct(nn.Module):
    def forward(self, x):
        return x.gelu() * x.sigmoid()


LAYERS = [Swish, L2Normalize, LayerNorm, Softmax, Attention, LogSumExpGate, TanhMLP, GELUProduct]


@pytest.mark.parametrize("make", LAYERS, ids=lambda c: c.__name__)
def test_no_false_alarm_over_200_draws(make):
    failures = []
    for seed in range(200):
        tl.manual_seed(seed)
        x = (np.random.default_rng(5000 + seed).standard_normal((2, N)) * 2).astype(np.float32)
        report = tl.testing.check_gradients(make(), x, seed=seed, code_dtype=np.float32,
                                            localize=False)  # fmt: skip
        if not report.passed:
            failures.append((seed, str(report)))
    assert not failures, failures[0][1]


def test_swish_draw_of_the_issue_passes():
    x = (np.random.default_rng(5022).standard_normal((3, 5)) * 2).astype(np.float32)
    assert tl.testing.check_gradients(Swish(), x, seed=22, code_dtype=np.float32).passed


class Float32OnlyBug(tl.Function):
    """x², with a gradient off by 0.05% only in float32 (as a dtype-specific fast path might)."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        (x,) = self.inputs
        return gy * x * (2.001 if x.dtype == np.float32 else 2.0)


def test_float32_mode_still_catches_bugs():
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    assert not tl.testing.check_gradients(BuggySwish(), x, code_dtype=np.float32).passed
    assert tl.testing.check_gradients(Float32OnlyBug.apply, x).passed  # float64 cannot see it
    assert not tl.testing.check_gradients(Float32OnlyBug.apply, x, code_dtype=np.float32).passed


LOW_DTYPES = ["float16", "bfloat16"]


def _low(name):
    return np.float16 if name == "float16" else tl.bfloat16


@pytest.mark.parametrize("dtype", LOW_DTYPES)
@pytest.mark.parametrize("make", LAYERS, ids=lambda c: c.__name__)
def test_no_false_alarm_in_16_bit_code(make, dtype):
    pytest.importorskip("ml_dtypes")
    failures = []
    for seed in range(25):
        tl.manual_seed(seed)
        x = (np.random.default_rng(5000 + seed).standard_normal((2, N)) * 2).astype(np.float32)
        report = tl.testing.check_gradients(make(), x, seed=seed, code_dtype=_low(dtype),
                                            localize=False)  # fmt: skip
        if not report.passed:
            failures.append(str(report))
    assert not failures, failures[0]


class OnePercentOff(tl.Function):
    """x² with a gradient 1% too large, in every dtype."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        (x,) = self.inputs
        return gy * x * 2.02


def test_float16_code_mode_catches_a_one_percent_error():
    for seed in range(5):
        x = np.random.default_rng(seed).standard_normal((3, 5)).astype(np.float32)
        report = tl.testing.check_gradients(
            OnePercentOff.apply, x, code_dtype=np.float16, seed=seed
        )
        assert not report.passed
