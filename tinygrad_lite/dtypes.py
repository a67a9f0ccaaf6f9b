"""Dtypes: how data becomes an array (Python floats are float32, as in PyTorch), and the dtype
of a binary op's result (NumPy's promotion, with PyTorch's weak numbers). Tensor-agnostic: a
Tensor is anything with `dtype`, `shape` and `ndim`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import state
from .backend import is_floating

DEFAULT_FLOAT = np.dtype(np.float32)


def as_array(data: Any, dtype) -> Any:
    """Convert `data` (not a Tensor) to an array. Arrays keep their dtype; Python floats become
    float32."""
    if isinstance(data, np.generic):
        data = np.asarray(data)
    if isinstance(data, np.ndarray) or hasattr(data, "__cuda_array_interface__"):
        if type(data) is not np.ndarray:  # NOTE: the common case at no cost
            data = plain_array(data)
        array = data if dtype is None else data.astype(dtype, copy=False)
        if array is not data and state.modes.observer is not None:  # tl.jit converts each call
            state.modes.observer.on_convert(data, array, "astype", (dtype,), {"copy": False})
    else:
        array = np.asarray(data, dtype=dtype)
        if dtype is None and array.dtype == np.float64:  # Python floats: the default float dtype
            array = array.astype(DEFAULT_FLOAT)
    if array.dtype.kind not in "biuf" and not is_floating(array.dtype):
        raise TypeError(f"Tensor: unsupported dtype {array.dtype}; use bool, integer or float data")
    return array


def plain_array(data):
    """`data`, or for an argument array that tl.jit hands a step while capturing it (a
    CapturedArray, which refuses reads in Python), the argument array itself."""
    if type(data) is np.ndarray:
        return data
    argument = getattr(data, "captured_argument", None)
    return data if argument is None else argument


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2}  # bool < integer < float (V: bfloat16)


def promotion_tier(x: Any) -> int:
    """PyTorch's three tiers: 2 for data with dimensions, 1 for a 0-d tensor or array, 0 for a
    number (Python's, or a NumPy scalar such as np.float64(2.0), which *is* a Python float)."""
    if isinstance(x, (bool, int, float, np.generic)):
        return 0
    return 2 if (x.ndim if hasattr(x, "ndim") else np.ndim(x)) else 1


_NUMBER_DTYPES = {bool: np.dtype(np.bool_), int: np.dtype(np.int64), float: DEFAULT_FLOAT}


def _dtype_of(x: Any) -> np.dtype:
    if type(x) in _NUMBER_DTYPES:  # NOTE: the common case first, without building an array
        return _NUMBER_DTYPES[type(x)]
    if hasattr(x, "dtype") and hasattr(x, "shape"):  # a Tensor, a NumPy or CuPy array or scalar
        return x.dtype
    return as_array(x, None).dtype  # Python numbers and lists: float -> float32


def result_dtype(a: Any, b: Any) -> np.dtype:
    """The dtype of a binary op on `a` and `b`: NumPy's promotion between operands of one tier;
    a lower tier (a number, a 0-d tensor) never widens a higher one of the same kind, so
    `float32 tensor * np.float64(2.0)` stays float32, as in PyTorch. A float number next to an
    integer tensor gives the default float32; a 0-d float tensor gives its own dtype.

    >>> result_dtype(np.ones(2, np.float32), np.float64(2.0))
    dtype('float32')
    >>> result_dtype(np.ones(2, np.int64), 2.5)
    dtype('float32')
    """
    dtype_a, dtype_b = _dtype_of(a), _dtype_of(b)
    if dtype_a == dtype_b:  # whatever the tiers
        return dtype_a
    tier_a, tier_b = promotion_tier(a), promotion_tier(b)
    if tier_a == tier_b:
        return np.result_type(dtype_a, dtype_b)
    (_, high), (low_tier, low) = sorted([(tier_a, dtype_a), (tier_b, dtype_b)], reverse=True)
    if _KIND_RANK[low.kind] <= _KIND_RANK[high.kind]:
        return high
    return DEFAULT_FLOAT if low_tier == 0 and is_floating(low) else low
