"""Undo for a capture that is refused: a capture call runs the step eagerly, and a refusal found
halfway (a value read into Python) or at the end (a write to Python state) must leave nothing
changed. Every change an eager step makes to tensors passes through an event the Recorder hears
first (a gradient written, an in-place update, a call replayed whole such as optimizer.step), so
the Journal saves what is about to change, once, and puts it back on `undo`."""

from __future__ import annotations

import numpy as np

from ..nn.module import Module
from ..tensor import Tensor


class Journal:
    def __init__(self):
        self._tensors: dict[int, tuple] = {}  # id -> (tensor, data, version, grad)
        self._arrays: dict[int, tuple] = {}  # id -> (array, copy of its values)
        self._containers: dict[int, tuple] = {}  # id -> (dict or list, shallow copy)

    def tensor(self, t: Tensor) -> None:
        """Save t's array (values too), version and .grad before the step changes them."""
        if id(t) in self._tensors:
            return
        self._tensors[id(t)] = (t, t.data, t._counter.value, t.grad)
        self._array(t.data)
        if t.grad is not None:
            self._array(t.grad.data)

    def _array(self, array) -> None:
        if id(array) not in self._arrays and hasattr(array, "copy"):
            self._arrays[id(array)] = (array, array.copy())

    def owner(self, value, depth: int = 0) -> None:
        """Save everything a call replayed whole may change: an optimizer's parameters, their
        gradients and its state, a scheduler's counters and its optimizer's groups, the
        parameters of a module, the tensors of a list."""
        if depth > 7 or value is None:
            return
        if isinstance(value, Tensor):
            self.tensor(value)
        elif isinstance(value, np.ndarray):
            self._array(value)
        elif isinstance(value, Module):
            for _, t in value._named_state("", include_buffers=True):
                self.tensor(t)
        elif isinstance(value, (dict, list)):
            if id(value) in self._containers:
                return
            self._containers[id(value)] = (value, value.copy())
            for item in value.values() if isinstance(value, dict) else value:
                self.owner(item, depth + 1)
        elif isinstance(value, tuple):
            for item in value:
                self.owner(item, depth + 1)
        elif hasattr(value, "__dict__") and not callable(value):
            self.owner(vars(value), depth + 1)

    def undo(self) -> None:
        for array, values in self._arrays.values():
            array[...] = values
        for container, saved in self._containers.values():
            if isinstance(container, dict):
                for key in [k for k in container if k not in saved]:
                    dict.__delitem__(container, key)
                for key, value in saved.items():
                    dict.__setitem__(container, key, value)  # NOTE: around ParameterGroup's hook
            else:
                container[:] = saved
        for t, data, version, grad in self._tensors.values():
            t.data, t._counter.value, t.grad = data, version, grad
