"""The engine's modes, per thread, and the one seam where a capture (tl.jit) listens.

This is the bottom module: it imports nothing of ours, and everything that asks "is grad mode
on?", "which autocast dtype?" or "is a step being captured?" reads `modes` here; nothing reads
another module's private state. A feature that hooks into the engine implements
`CaptureObserver` and installs itself with `observing(...)`; the engine calls its methods at
the places named in the protocol, and nowhere else.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from typing import Any, Protocol


class Modes(threading.local):
    """Modes that belong to one thread, as in PyTorch: a thread evaluating under `no_grad` (or
    tracing a backward) must not switch recording off (or print) for a thread that trains."""

    grad_enabled = True
    autocast_dtype = None  # float16 or bfloat16 inside tl.amp.autocast (amp.py)
    # A NumPy Generator while tl.testing estimates rounding errors: every op's float result is
    # moved one unit in the last place, up or down at random (Monte Carlo arithmetic).
    rounding_noise = None
    # The CaptureObserver told of everything the engine does in this thread (tl.jit's Recorder
    # while it captures a step), or None.
    observer: CaptureObserver | None = None

    def __init__(self):
        # Called as hook(function, gradient of its output, gradients of its inputs) for every
        # node that backward processes in this thread; tl.trace() prints backprop with it.
        self.backward_hooks: list = []


modes = Modes()


class CaptureObserver(Protocol):
    """What the engine reports while a step is captured. Each event is sent from one place."""

    def on_apply(self, fn, inputs, params, y, returned) -> None:
        """Function.apply ran `fn.forward`, which returned `returned` (y's array)."""

    def on_convert(self, source, result) -> None:
        """`result` is a new array converted (or copied) from `source` outside an op."""

    def on_backward_untracked(self, fn, gy, gxs, returned) -> None:
        """The backward walk ran `fn.backward_untracked` on gy's array, giving `gxs`."""

    def on_composed_backward(self, fn, incoming, gy) -> None:
        """The backward walk is about to run `fn.backward` (ops) on `incoming`, gy's array."""

    def on_composed_backward_done(self, fn) -> None:
        """`fn.backward` returned."""

    def on_set_grad(self, leaf, g) -> None:
        """backward is about to write (or add) `g` into `leaf.grad`."""

    def on_grad_written(self, leaf) -> None:
        """It did: `leaf.grad` is the new gradient."""

    def on_grad_assigned(self, tensor, value) -> None:
        """Python code of the step sets `tensor.grad = value` (None, or a Tensor)."""

    def on_in_place(self, target, other, update) -> None:
        """`update(target.data, other)` is about to change a tensor in place."""

    def on_call(self, method, owner, args, kwargs) -> None:
        """A method marked `replayed_whole` (an optimizer's step) is about to run."""

    def on_call_done(self, method, owner) -> None:
        """That method returned."""

    def on_module(self, module) -> None:
        """A Module was called."""

    def on_read(self, tensor, what: str) -> None:
        """Python reads a tensor's values (`item()`, `bool()`, `numpy()`, ...)."""

    def on_parameter_group(self, group, key, value, write: bool) -> None:
        """An optimizer's hyper-parameter `group[key]` is read (or written) by Python code."""


def replayed_whole(method):
    """Mark a method with side effects (an optimizer's step, zero_grad) that tl.jit replays by
    calling it again, rather than by recording the ops inside it."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        observer = modes.observer
        if observer is None:
            return method(self, *args, **kwargs)
        observer.on_call(method, self, args, kwargs)
        modes.observer = None  # NOTE: the ops inside are replayed by calling the method again
        try:
            result = method(self, *args, **kwargs)
        finally:
            modes.observer = observer
        observer.on_call_done(method, self)
        return result

    wrapper.replayed_whole = True
    return wrapper


def would_record(*values) -> bool:
    """True when an op on these values would be recorded: grad mode is on and one of them is
    a Tensor that requires grad (Tensor's in-place updates ask this before changing data)."""
    return modes.grad_enabled and any(getattr(v, "requires_grad", False) for v in values)


@contextlib.contextmanager
def observing(observer: CaptureObserver | None):
    """Inside the block, this thread's engine reports to `observer` (None: to nobody)."""
    previous, modes.observer = modes.observer, observer
    try:
        yield observer
    finally:
        modes.observer = previous


def observer() -> Any:
    """This thread's CaptureObserver, or None."""
    return modes.observer
