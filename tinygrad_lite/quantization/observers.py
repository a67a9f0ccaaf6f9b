"""Observers: they watch the values that flow through a point of the model and turn the range they
saw into quantization parameters (scale, zero point), with torch.ao.quantization's formulas, so
the same data gives the same qparams (float32 arithmetic, rounding half to even).

    affine (uint8 activations):  scale = (max⁺ - min⁻) / (q_max - q_min),
                                 zero_point = q_min - round(min⁻ / scale), clamped to [q_min, q_max]
    symmetric (int8 weights):    scale = max(-min⁻, max⁺) / ((q_max - q_min) / 2), zero_point = 0
                                 (128 for uint8)

where min⁻ = min(min, 0) and max⁺ = max(max, 0), so 0.0 is always exactly representable (the
padding of a convolution and a ReLU's zeros must not move), and scale ≥ float32's eps.
Derivation: docs/derivations/compression.md
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor

QSCHEMES = ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
            "per_channel_symmetric")  # fmt: skip
EPS = np.finfo(np.float32).eps


def quant_range(dtype: str, reduce_range: bool = False) -> tuple[int, int]:
    """[q_min, q_max] of 'qint8' (-128..127) or 'quint8' (0..255); reduce_range drops a bit."""
    if dtype == "qint8":
        return (-64, 63) if reduce_range else (-128, 127)
    if dtype == "quint8":
        return (0, 127) if reduce_range else (0, 255)
    raise ValueError(f"observer: dtype must be 'qint8' or 'quint8', got {dtype!r}")


def _values(x) -> np.ndarray:
    data = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
    return np.asarray(data, dtype=np.float32)


class _Observer:
    """Common part: the dtype, scheme and range, and the qparams formula."""

    per_channel = False

    def __init__(self, dtype: str = "quint8", qscheme: str = "per_tensor_affine",
                 reduce_range: bool = False, quant_min: int | None = None,
                 quant_max: int | None = None, eps: float = EPS):  # fmt: skip
        if qscheme not in QSCHEMES or qscheme.startswith("per_channel") != self.per_channel:
            raise ValueError(f"{type(self).__name__}: qscheme {qscheme!r} is not supported")
        self.dtype, self.qscheme, self.eps = dtype, qscheme, np.float32(eps)
        default = quant_range(dtype, reduce_range)
        self.customized_range = quant_min is not None or quant_max is not None
        self.quant_min = default[0] if quant_min is None else int(quant_min)
        self.quant_max = default[1] if quant_max is None else int(quant_max)
        if not self.quant_min < self.quant_max:
            raise ValueError(f"observer: need quant_min < quant_max, got {self.quant_min}, "
                             f"{self.quant_max}")  # fmt: skip
        self.min_val = self.max_val = None  # nothing observed yet

    def __call__(self, x):
        """Observe x; return it unchanged (observers sit in the forward pass)."""
        self.observe(_values(x))
        return x

    def observe(self, x: np.ndarray) -> None:
        if x.size == 0:
            return
        low, high = self.extremes(x)
        if self.min_val is None:
            self.min_val, self.max_val = low, high
        else:
            self.min_val, self.max_val = self.combine(low, high)

    def extremes(self, x: np.ndarray):
        """This batch's minimum and maximum (per tensor; per channel in the subclass)."""
        return x.min(), x.max()

    def combine(self, low, high):
        """The running range after a batch with extremes (low, high): the widest so far."""
        return np.minimum(self.min_val, low), np.maximum(self.max_val, high)

    def calculate_qparams(self) -> tuple[np.ndarray, np.ndarray]:
        """(scale float32, zero_point int64), arrays of shape (1,) per tensor, (C,) per channel.
        Before anything was observed: scale 1, zero point 0 (PyTorch's answer too)."""
        if self.min_val is None:
            return np.ones(1, np.float32), np.zeros(1, np.int64)
        low = np.minimum(self.min_val, np.float32(0))
        high = np.maximum(self.max_val, np.float32(0))
        levels = np.float32(self.quant_max - self.quant_min)
        if self.qscheme.endswith("symmetric"):
            scale = np.maximum(-low, high) / (levels / np.float32(2))
            scale = np.maximum(scale, self.eps)
            middle = (self.quant_min + self.quant_max) // 2 if self.customized_range else 128
            zero = middle if self.dtype == "quint8" else 0
            zero_point = np.full(scale.shape, zero, np.int64)
        else:
            scale = np.maximum((high - low) / levels, self.eps)
            zero_point = self.quant_min - np.rint(low / scale).astype(np.int64)
            zero_point = np.clip(zero_point, self.quant_min, self.quant_max)
        return np.atleast_1d(scale).astype(np.float32), np.atleast_1d(zero_point)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(dtype={self.dtype}, qscheme={self.qscheme}, "
                f"min_val={self.min_val}, max_val={self.max_val})")  # fmt: skip


class MinMaxObserver(_Observer):
    """The running minimum and maximum of everything observed (per tensor)."""


class MovingAverageMinMaxObserver(_Observer):
    """An exponential moving average of each batch's minimum and maximum (the first batch's
    taken as is): min ← min + c·(batch min - min), c = averaging_constant. For activations
    during quantization-aware training, where one outlier batch should not set the range."""

    def __init__(self, averaging_constant: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.averaging_constant = np.float32(averaging_constant)

    def combine(self, low, high):
        c = self.averaging_constant
        return self.min_val + c * (low - self.min_val), self.max_val + c * (high - self.max_val)


class PerChannelMinMaxObserver(_Observer):
    """Running minimum and maximum of each slice along `ch_axis` (for weights: one scale per
    output channel, since channels can differ in range by orders of magnitude)."""

    per_channel = True

    def __init__(self, ch_axis: int = 0, dtype: str = "quint8",
                 qscheme: str = "per_channel_affine", **kwargs):  # fmt: skip
        super().__init__(dtype=dtype, qscheme=qscheme, **kwargs)
        self.ch_axis = ch_axis

    def extremes(self, x: np.ndarray):
        rows = np.moveaxis(x, self.ch_axis, 0).reshape(x.shape[self.ch_axis], -1)
        return rows.min(axis=1), rows.max(axis=1)


def weight_observer() -> PerChannelMinMaxObserver:
    """int8, symmetric, one scale per output channel (axis 0): the weights' default."""
    return PerChannelMinMaxObserver(ch_axis=0, dtype="qint8", qscheme="per_channel_symmetric")


def activation_observer(moving_average: bool = False) -> _Observer:
    """uint8, affine, per tensor: the activations' default (moving average for QAT)."""
    if moving_average:
        return MovingAverageMinMaxObserver(dtype="quint8", qscheme="per_tensor_affine")
    return MinMaxObserver(dtype="quint8", qscheme="per_tensor_affine")
