"""Ways to make tensors: from data, filled with a constant, ranges, identity, and random values.

Float tensors default to float32. Random values come from one NumPy Generator that
`manual_seed` resets, so a seeded program gives the same numbers on every run, and on either
device: `device="cuda"` draws on the CPU and copies, so a GPU run starts from the CPU run's numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import state
from .ops.arguments import unpack_sizes
from .tensor import DEFAULT_FLOAT, Tensor, plain_array

_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed every random creator (rand, randn, uniform) for reproducible runs."""
    global _rng
    _rng = np.random.default_rng(seed)


def generator_state() -> dict:
    """The global generator's state (tl.jit checks that a capture drew no random numbers)."""
    return _rng.bit_generator.state


def set_generator_state(saved: dict) -> None:
    """Put back a state from `generator_state` (a refused tl.jit capture drew numbers)."""
    _rng.bit_generator.state = saved


def fresh_seed() -> int:
    """A fresh seed from the global generator, for objects with generators of their own (a
    DataLoader's shuffling), so that tl.manual_seed makes them reproducible too."""
    return int(_rng.integers(2**63))


def _float(dtype) -> np.dtype:
    dtype = np.dtype(DEFAULT_FLOAT if dtype is None else dtype)
    if dtype.kind != "f":
        raise TypeError(f"random tensors are floating point, got dtype {dtype}")
    return dtype


def tensor(data: Any, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A new tensor holding a copy of `data` (torch.tensor); Python floats become float32."""
    data = data.data if isinstance(data, Tensor) else plain_array(data)
    if hasattr(data, "shape"):  # NOTE: Tensor() itself shares arrays
        source, data = data, data.copy()
        if state.modes.observer is not None:  # tl.jit copies the array of each call
            state.modes.observer.on_convert(source, data)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def full(shape, value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Filled with `value`; a float value gives float32, an int int64, a bool bool."""
    if dtype is None:
        dtype = DEFAULT_FLOAT if isinstance(value, float) else np.result_type(value)
    return Tensor(np.full(shape, value, dtype=dtype), requires_grad=requires_grad, device=device)


def zeros(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return Tensor(
        np.zeros(unpack_sizes(shape), dtype or DEFAULT_FLOAT),
        requires_grad=requires_grad,
        device=device,
    )


def ones(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return Tensor(
        np.ones(unpack_sizes(shape), dtype or DEFAULT_FLOAT),
        requires_grad=requires_grad,
        device=device,
    )


def zeros_like(x: Tensor, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return Tensor(x.xp.zeros(x.shape, dtype or x.dtype), requires_grad=requires_grad, device=device)


def ones_like(x: Tensor, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return Tensor(x.xp.ones(x.shape, dtype or x.dtype), requires_grad=requires_grad, device=device)


def arange(
    start, stop=None, step=1, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    """np.arange; integer arguments give int64, any float gives float32 unless dtype is set."""
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and values.dtype.kind == "f":
        dtype = DEFAULT_FLOAT
    return Tensor(values, dtype=dtype, requires_grad=requires_grad, device=device)


def eye(
    n: int, m: int | None = None, dtype=None, requires_grad: bool = False, device=None
) -> Tensor:
    return Tensor(
        np.eye(n, m, dtype=dtype or DEFAULT_FLOAT), requires_grad=requires_grad, device=device
    )


def rand(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Uniform on [0, 1)."""
    return uniform(
        *shape, low=0.0, high=1.0, dtype=dtype, requires_grad=requires_grad, device=device
    )


def randn(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Standard normal."""
    values = _rng.standard_normal(unpack_sizes(shape)).astype(_float(dtype))
    return Tensor(values, requires_grad=requires_grad, device=device)


def uniform(*shape, low: float = 0.0, high: float = 1.0, dtype=None, requires_grad=False,
            device=None) -> Tensor:  # fmt: skip
    """Uniform on [low, high)."""
    values = _rng.uniform(low, high, unpack_sizes(shape)).astype(_float(dtype))
    return Tensor(values, requires_grad=requires_grad, device=device)
