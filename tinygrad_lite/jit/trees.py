"""The step's arguments and results as trees: containers (tuples, lists, dicts, namedtuples,
dataclasses) around leaves (Tensors, arrays, numbers, other objects).

An argument tree becomes a guard key, matched by value and structure, never by `id` (CPython
reuses the id of a dead object, so another list would match an old plan): arrays and Tensors by
shape, dtype, array type and requires_grad; numbers, strings and NumPy scalars by their exact
value and type; keywords by name; two leaves that are one object during capture must be one
object again. Other objects (a model, a function) are kept alive by the plan and matched by
identity, which is then safe; what they hold is guarded as Python state (guards.py).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..tensor import Tensor
from .errors import JitError

_EXACT = (bool, int, str, bytes, type(None))


def _number_key(value) -> tuple:
    """Floats by their bits: -0.0 and 0.0 give other results, and NaN equals itself here."""
    if isinstance(value, float):
        return (float, value.hex() if math.isfinite(value) else repr(value))
    if isinstance(value, complex):
        return (complex, _number_key(value.real), _number_key(value.imag))
    return (type(value), value.dtype.str, value.tobytes())  # a NumPy scalar


def argument_key(args: tuple, kwargs: dict) -> tuple[tuple, list, list, list]:
    """(guard key, the arrays of the array leaves in order, the Tensor leaves in the same order
    (None for a plain array), the objects matched by identity)."""
    if not kwargs:  # NOTE: the common case (distinct Tensors) in one plain loop: the same key
        key, arrays, seen = [], [], set()
        for t in args:
            if type(t) is not Tensor or id(t) in seen:
                break
            seen.add(id(t))
            data = t.data
            key.append((len(arrays), data.shape, data.dtype, type(data), t._requires_grad))
            arrays.append(data)
        else:
            return tuple(key), arrays, list(args), []
    key: list = []
    arrays: list = []
    tensors: list = []
    objects: list = []
    first_seen: dict[int, int] = {}

    def visit(value) -> None:
        kind = type(value)
        if kind is Tensor or isinstance(value, Tensor):
            data = value.data
            alias = first_seen.setdefault(id(value), len(first_seen))
            key.append((alias, data.shape, data.dtype, type(data), value._requires_grad))
            arrays.append(data)
            tensors.append(value)
        elif kind in _EXACT:
            key.append((kind, value))
        elif kind is float or kind is complex or isinstance(value, np.generic):
            key.append(_number_key(value))
        elif hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "__len__"):
            alias = first_seen.setdefault(id(value), len(first_seen))
            key.append(("array", alias, value.shape, value.dtype, type(value)))
            arrays.append(value)
            tensors.append(None)
        elif kind is tuple or kind is list:
            key.append((kind, len(value)))
            for item in value:
                visit(item)
        elif kind is dict:
            key.append((dict, tuple(value)))  # NOTE: keys in order, as the step iterates them
            for item in value.values():
                visit(item)
        elif isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
            key.append((kind, len(value)))
            for item in value:
                visit(item)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            key.append((kind,))
            for field in dataclasses.fields(value):
                visit(getattr(value, field.name))
        else:
            alias = first_seen.setdefault(id(value), len(first_seen))
            key.append(("object", alias, id(value)))
            objects.append(value)

    for value in args:
        visit(value)
    for name in sorted(kwargs):  # NOTE: by name: step(x=a, y=b) and step(y=b, x=a) are one call
        key.append(("keyword", name))
        visit(kwargs[name])
    return tuple(key), arrays, tensors, objects


def map_arrays(value, change):
    """`value` with every NumPy array leaf (not inside a Tensor) replaced by change(array), its
    containers rebuilt; other leaves as they are."""
    kind = type(value)
    if kind is np.ndarray:
        return change(value)
    if kind is tuple or kind is list:
        return kind(map_arrays(v, change) for v in value)
    if kind is dict:
        return {k: map_arrays(v, change) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return kind(*(map_arrays(v, change) for v in value))
    return value


class ResultTree:
    """How to rebuild the step's result from the tensors a replay computes: the containers as
    captured, each Tensor leaf by its position among the replay's outputs, other leaves (None,
    numbers, strings, objects) as the capture returned them."""

    def __init__(self, result, slot_of_tensor):
        self.slots: list[int] = []
        self.shape = self._describe(result, slot_of_tensor)

    def _describe(self, value, slot_of_tensor):
        if isinstance(value, Tensor):
            self.slots.append(slot_of_tensor(value))
            return ("tensor", len(self.slots) - 1)
        kind = type(value)
        if kind in (tuple, list) or (isinstance(value, tuple) and hasattr(value, "_fields")):
            return ("sequence", kind, [self._describe(v, slot_of_tensor) for v in value])
        if kind is dict:
            return ("dict", [(k, self._describe(v, slot_of_tensor)) for k, v in value.items()])
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = [(f.name, self._describe(getattr(value, f.name), slot_of_tensor))
                      for f in dataclasses.fields(value) if f.init]  # fmt: skip
            return ("dataclass", kind, fields)
        if isinstance(value, np.ndarray):
            raise JitError(
                "tl.jit: the step returns a NumPy array, computed outside the ops, which a "
                "replay would return unchanged; return a Tensor"
            )
        return ("constant", value)

    def build(self, tensors: list):
        if self.shape[0] == "tensor":  # NOTE: the common result, one loss
            return tensors[0]
        return self._build(self.shape, tensors)

    def _build(self, shape, tensors):
        kind = shape[0]
        if kind == "tensor":
            return tensors[shape[1]]
        if kind == "sequence":
            items = [self._build(s, tensors) for s in shape[2]]
            cls = shape[1]
            return cls(*items) if hasattr(cls, "_fields") else cls(items)
        if kind == "dict":
            return {k: self._build(s, tensors) for k, s in shape[1]}
        if kind == "dataclass":
            return shape[1](**{name: self._build(s, tensors) for name, s in shape[2]})
        return shape[1]

    def same_as(self, other: ResultTree) -> bool:
        return self.slots == other.slots and _same_shape(self.shape, other.shape)


def _same_shape(a, b) -> bool:
    kind = a[0]
    if kind != b[0]:
        return False
    if kind == "constant":
        return a[1] is b[1] or (type(a[1]) is type(b[1]) and _equal(a[1], b[1]))
    if kind == "tensor":
        return a[1] == b[1]
    if kind == "sequence":
        return a[1] is b[1] and len(a[2]) == len(b[2]) and all(map(_same_shape, a[2], b[2]))
    if kind == "dataclass" and a[1] is not b[1]:
        return False
    pairs_a, pairs_b = (a[1], b[1]) if kind == "dict" else (a[2], b[2])
    return len(pairs_a) == len(pairs_b) and all(
        name_a == name_b and _same_shape(shape_a, shape_b)
        for (name_a, shape_a), (name_b, shape_b) in zip(pairs_a, pairs_b)
    )


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values that cannot be compared are different
        return False
