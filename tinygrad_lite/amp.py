"""Mixed precision, with PyTorch's interface: `autocast` runs the matrix products in float16 or
bfloat16 and keeps the numerically delicate ops in float32; `GradScaler` protects float16
gradients from underflow by scaling the loss. Derivation: docs/derivations/amp.md

    scaler = tl.amp.GradScaler()
    with tl.amp.autocast(dtype=tl.float16):
        loss = loss_fn(model(x), y)             # products in float16, the loss in float32
    scaler.scale(loss).backward()               # gradients of loss * scale: no underflow
    scaler.step(optimizer)                      # unscales; skips the step on inf/NaN
    scaler.update()                             # halves the scale after a skip, grows it later

The rule of `autocast` is one table, `AUTOCAST` (ops/precision.py: PyTorch's CUDA lists, on
both devices): matmul, linear and conv2d cast their float inputs to the low dtype; the ops that
sum many terms or take exponentials and powers, and every loss, cast 16-bit inputs up to
float32; all other ops take the dtype of their inputs. Parameters stay float32 (the master
weights), and the Cast nodes send each gradient back in its parameter's dtype. PyTorch's CPU
autocast keeps softmax, exp, log and the sums in the low dtype; we keep them in float32 on the
CPU too, for the same numerical safety as on the GPU. A float16/bfloat16 matrix product
accumulates in float32 and rounds the result to the low dtype, as tensor cores do (on the CPU:
through float32 BLAS, which is also ~200x faster than NumPy's float16 matmul).
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import state
from .backend import low_precision
from .ops.precision import (  # noqa: F401  (tl.amp's names for them)
    AUTOCAST,
    autocast_inputs,
    cublas_float32_accumulation,
    is_autocast_enabled,
    matmul_in_float32,
)
from .tensor import Tensor


class autocast(contextlib.ContextDecorator):  # noqa: N801  (torch.autocast's name)
    """Inside the block (this thread only), run matmul/linear/conv2d in `dtype` and the
    float32-list ops in float32 (see the module docstring). A context manager and a decorator.

    Args:
        device_type: 'cpu' or 'cuda' (the rule is the same on both).
        dtype: np.float16 / tl.float16, or tl.bfloat16.
        enabled: False turns it off (so one code path serves both).
    """

    def __init__(self, device_type: str = "cpu", dtype=np.float16, enabled: bool = True):
        if device_type not in ("cpu", "cuda"):
            raise ValueError(f"autocast: device_type must be 'cpu' or 'cuda', got {device_type!r}")
        if not low_precision(dtype):
            raise ValueError(f"autocast: dtype must be float16 or bfloat16, got {np.dtype(dtype)}")
        self.device_type, self.dtype, self.enabled = device_type, np.dtype(dtype), enabled
        self.previous: list = []

    def __enter__(self):
        self.previous.append(state.modes.autocast_dtype)
        state.modes.autocast_dtype = self.dtype if self.enabled else None
        return self

    def __exit__(self, *exc):
        state.modes.autocast_dtype = self.previous.pop()


def lower(*tensors):
    """For matmul/linear/conv2d: float tensors cast to the autocast dtype (unchanged outside)."""
    return autocast_inputs("matmul", *tensors)


def widen(*tensors):
    """For the float32-list ops: low-precision tensors cast to float32 (unchanged outside)."""
    return autocast_inputs("sum", *tensors)


_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    """Dynamic loss scaling, as torch.amp.GradScaler. The loss is multiplied by `scale` before
    backward, so small float16 gradients do not flush to zero; `step` divides the gradients by it
    again (or `unscale_` does, earlier, e.g. before clip_grad_norm_) and skips the update when any
    gradient is inf or NaN; `update` then halves the scale after a skipped step and doubles it
    after `growth_interval` steps in a row without one.

    Args:
        init_scale: the first scale (2¹⁶).
        growth_factor, backoff_factor: how the scale moves (×2, ×0.5).
        growth_interval: finite steps in a row before it grows.
        enabled: False makes every method a pass-through, so one loop serves both.
    """

    def __init__(self, device: str = "cpu", init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True):  # fmt: skip
        if not growth_factor > 1 or not 0 < backoff_factor < 1:
            raise ValueError("GradScaler: need growth_factor > 1 and 0 < backoff_factor < 1, got "
                             f"{growth_factor} and {backoff_factor}")  # fmt: skip
        if not (isinstance(growth_interval, int) and growth_interval > 0):
            raise ValueError(f"GradScaler: growth_interval must be a positive integer, got "
                             f"{growth_interval!r}")  # fmt: skip
        self.device, self.enabled = device, enabled
        self._scale = np.float32(init_scale)
        self.growth_factor, self.backoff_factor = growth_factor, backoff_factor
        self.growth_interval, self._growth_tracker = growth_interval, 0
        self._per_optimizer: dict[int, dict] = {}

    def is_enabled(self) -> bool:
        return self.enabled

    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        return float(self._scale) if self.enabled else 1.0

    def scale(self, outputs):
        """outputs × scale (a Tensor, or a list/tuple of them); unchanged when disabled."""
        if not self.enabled:
            return outputs
        if state.modes.observer is not None:
            from .jit import JitError

            raise JitError("tl.jit cannot capture GradScaler.scale: the scale changes from step "
                           "to step, and a capture would freeze it")  # fmt: skip
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(y) for y in outputs)
        if low_precision(outputs.dtype):  # NOTE: as torch: a float16 loss × 2¹⁶ would overflow
            outputs = outputs.astype(np.float32)
        return outputs * Tensor(np.asarray(self._scale, dtype=outputs.dtype))

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale, in place, and note whether any is inf or
        NaN. At most once per optimizer between two `update`s, and before `step`."""
        if not self.enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")  # fmt: skip
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inverse = np.float32(1.0 / np.float64(self._scale))  # NOTE: as torch: double, then float
        found_inf = False
        for p in optimizer._params():
            if p.grad is None:
                continue
            g = p.grad.data
            found_inf = found_inf or not bool(p.grad.xp.isfinite(g).all())
            p.grad = Tensor(g * g.dtype.type(inverse))
        state["found_inf"], state["stage"] = found_inf, _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale (if not done yet) and run optimizer.step(), unless a gradient is inf or NaN;
        returns what optimizer.step returned, or None for a skipped step."""
        if not self.enabled:
            return optimizer.step(*args, **kwargs)
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale: float | None = None) -> None:
        """Move the scale: back off after any skipped step since the last update, grow after
        growth_interval finite steps in a row; or set it to `new_scale`."""
        if not self.enabled:
            return
        if new_scale is not None:
            self._scale = np.float32(new_scale)
        else:
            checks = [s["found_inf"] for s in self._per_optimizer.values() if "found_inf" in s]
            if not checks:
                raise RuntimeError("No inf checks were recorded prior to update.")
            if any(checks):
                self._scale = np.float32(self._scale * self.backoff_factor)
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self.growth_interval:
                    self._scale = np.float32(self._scale * self.growth_factor)
                    self._growth_tracker = 0
        self._per_optimizer = {}

    def _state(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY})

    def state_dict(self) -> dict:
        """The scale and its schedule (saveable with tl.save); empty when disabled."""
        if not self.enabled:
            return {}
        return {"scale": float(self._scale), "growth_factor": self.growth_factor,
                "backoff_factor": self.backoff_factor, "growth_interval": self.growth_interval,
                "_growth_tracker": self._growth_tracker}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        if not self.enabled:
            return
        if not state:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")  # fmt: skip
        missing = {"scale", "growth_factor", "backoff_factor", "growth_interval",
                   "_growth_tracker"} - set(state)  # fmt: skip
        if missing:
            raise ValueError(f"GradScaler.load_state_dict: missing {sorted(missing)}")
        self._scale = np.float32(state["scale"])
        self.growth_factor = float(state["growth_factor"])
        self.backoff_factor = float(state["backoff_factor"])
        self.growth_interval = int(state["growth_interval"])
        self._growth_tracker = int(state["_growth_tracker"])
