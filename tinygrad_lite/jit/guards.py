"""The Python state a step reads besides its arguments, guarded so that a replay never runs
with a value the capture froze and that changed since.

A replay does not run the step's Python code, so every value that code read is baked into the
plan. Which values can it read? The names its code (and the code of the user functions it calls)
loads from globals and closures, and what those names lead to: the model's modules and their
attributes, user objects' attributes, NumPy arrays, lists and dicts. `PythonState` collects them
before a capture and checks them before each replay, at a cost that grows only with what the
step names:
- a name (global or closure cell) must still be bound to the same object, or to an equal
  number or string: rebinding `opt`, `model` or a loss weight captures again;
- the contents of mutable things it reaches (NumPy arrays by their bytes, lists, dicts, user
  objects' attributes) must be unchanged: a mask changed in place captures again;
- modules' attributes (a temperature, BatchNorm's momentum, a swapped activation, which tensors
  require grad) are compared when `Structure.version` moved (any Module attribute assignment
  or requires_grad switch moves it);
- optimizers and schedulers (objects with methods replayed whole) by identity only: their step
  reads param_groups live at replay; Python reads of param_groups are guarded one by one
  (optim.optimizer.ParameterGroup tells the capture).
During a capture, the same snapshot taken before and after the step shows what the step wrote
to Python state (a counter, an attribute, a list it appended to), which a replay would not
repeat: the capture is refused and those writes undone.
"""

from __future__ import annotations

import dis
import random
import types

import numpy as np

from ..nn.module import Module
from ..tensor import Structure, Tensor
from .errors import JitError

# A NumPy array named by the step is compared byte for byte before every replay; above this
# many bytes that would cost more than the replay saves, and the capture is refused instead.
LARGEST_GUARDED_ARRAY = 1 << 22
_LIBRARIES = ("tinygrad_lite", "numpy", "cupy", "scipy", "builtins", "functools", "math")
_IMMUTABLE = (bool, int, float, complex, str, bytes, type(None), np.generic, np.dtype)
_MISSING = object()
_GLOBAL_OPS = ("LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL", "STORE_NAME")


def same_value(a, b) -> bool:
    """The same object, or numbers/strings equal bit for bit (floats by their bits)."""
    if a is b:
        return True
    if type(a) is not type(b) or not isinstance(a, _IMMUTABLE):
        return (
            isinstance(a, tuple)
            and type(a) is type(b)
            and len(a) == len(b)
            and all(map(same_value, a, b))
        )
    if isinstance(a, float):
        return a.hex() == b.hex() if a == a and b == b else repr(a) == repr(b)
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    return a == b


def _replayed_whole_owner(value) -> bool:
    """An optimizer or scheduler: its class has a method tl.jit replays by calling it."""
    cls = type(value)
    return any(getattr(getattr(cls, name, None), "replayed_whole", False) for name in dir(cls))


def _is_library(function) -> bool:
    module = getattr(function, "__module__", None)  # NOTE: None for code run by exec()
    return module is not None and module.startswith(_LIBRARIES)


def contents(value):
    """A comparable picture of what a mutable value holds, one level deep: arrays by bytes,
    containers and objects by their items' identities (or values, for numbers)."""
    if isinstance(value, np.ndarray):
        return (value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, dict):
        return tuple((k, _item(v)) for k, v in value.items())
    if isinstance(value, (list, set, frozenset)):
        return tuple(_item(v) for v in value)
    return tuple((k, _item(v)) for k, v in vars(value).items())


def _item(value):
    if isinstance(value, _IMMUTABLE) or (isinstance(value, tuple) and len(value) < 16):
        return (type(value), repr(value)) if isinstance(value, float) else value
    if isinstance(value, Tensor):
        return (id(value), value._requires_grad)
    return id(value)


class PythonState:
    """What the step's Python code can read, as described in the module docstring."""

    def __init__(self, step, objects=()):
        self.names: list[tuple] = []  # (namespace dict or cell, name, bound object)
        self.mutables: list[tuple] = []  # (value, description, its contents, a copy)
        self.modules: list[tuple] = []  # (module, description, its contents, its attributes)
        self.generators: list = []  # NumPy Generators / random.Random instances reached
        self.keep: list = []  # what the ids in the contents refer to stays alive
        self._seen: set[int] = set()
        self.version = Structure.version
        self._function(step, "the step", depth=0)
        for i, value in enumerate(objects):
            self._value(value, f"argument object {i}", depth=2)

    # ---- collecting --------------------------------------------------------------------------
    def _function(self, function, where: str, depth: int) -> None:
        if id(function) in self._seen or depth > 4:
            return
        self._seen.add(id(function))
        self.keep.append(function)
        if isinstance(function, types.MethodType):
            self._value(function.__self__, f"{where}'s self", depth)
            function = function.__func__
        if hasattr(function, "func") and hasattr(function, "keywords"):  # functools.partial
            self._function(function.func, where, depth)
            for value in (*function.args, *function.keywords.values()):
                self._value(value, f"an argument bound to {where}", depth)
            return
        code = getattr(function, "__code__", None)
        if code is None:
            if callable(function) and not isinstance(function, type):
                self._value(function, where, depth)  # a callable object: its attributes
            return
        for cell, name in zip(function.__closure__ or (), code.co_freevars):
            self._name(cell, name, f"'{name}' (a variable of an enclosing function)", depth)
        namespace = function.__globals__
        for name in _loaded_names(code):
            if name in namespace:
                self._name(namespace, name, f"the global '{name}'", depth)

    def _name(self, namespace, name: str, description: str, depth: int) -> None:
        value = _read(namespace, name)
        if value is _MISSING:
            return
        self.names.append((namespace, name, value, description))
        self._value(value, description, depth)

    def _value(self, value, description: str, depth: int) -> None:
        if isinstance(value, _IMMUTABLE) or id(value) in self._seen:
            return
        if isinstance(value, (types.FunctionType, types.MethodType)) or hasattr(value, "func"):
            if not _is_library(value):
                self._function(value, description, depth + 1)
            return
        self._seen.add(id(value))
        self.keep.append(value)
        if (
            isinstance(value, (types.ModuleType, type, Tensor))
            or getattr(value, "guarded_by_identity", False)
            or _replayed_whole_owner(value)
        ):
            return  # identity (the name's guard); tensors are guarded as the plan's inputs
        if isinstance(value, (np.random.Generator, random.Random)):
            self.generators.append(value)
        elif isinstance(value, Module):
            for module in value.modules():
                self.add_module(module, f"{description} (a {type(module).__name__})")
        elif isinstance(value, np.ndarray):
            if value.nbytes > LARGEST_GUARDED_ARRAY:
                raise JitError(
                    f"tl.jit: the step reads {description}, a NumPy array of {value.nbytes} "
                    "bytes: a replay would freeze its values, and comparing them before every "
                    "replay would cost more than the replay saves; pass it (or the part the "
                    "step uses) as an argument"
                )
            self.mutables.append((value, description, contents(value), value.copy()))
        elif isinstance(value, (list, dict, set, tuple)):
            items = value.values() if isinstance(value, dict) else value
            if not isinstance(value, tuple):
                self.mutables.append((value, description, contents(value), value.copy()))
            if depth < 3:
                for item in items:
                    self._value(item, f"an item of {description}", depth + 1)
        elif hasattr(value, "__dict__"):
            self.mutables.append((value, description, contents(value), dict(vars(value))))
            if depth < 3:
                for name, item in vars(value).items():
                    self._value(item, f"{description}.{name}", depth + 1)

    def add_module(self, module: Module, description: str) -> None:
        """Guard a module's attributes (called for every module a capture sees called)."""
        if any(m is module for m, *_ in self.modules):
            return
        self._seen.add(id(module))
        self.keep.append(module)
        self.modules.append((module, description, contents(module), dict(vars(module))))
        for name, value in vars(module).items():
            if isinstance(value, (np.ndarray, list, dict, set)) or (
                not isinstance(value, (Module, Tensor, *_IMMUTABLE)) and hasattr(value, "__dict__")
            ):
                self._value(value, f"{description}.{name}", depth=2)

    # ---- checking ----------------------------------------------------------------------------
    def holds(self) -> bool:
        """True when everything the capture read is as it was (checked before each replay)."""
        for namespace, name, value, _ in self.names:
            try:  # NOTE: inline, as this runs before every replay
                current = namespace.get(name, _MISSING) if type(namespace) is dict else (
                    namespace.cell_contents)  # fmt: skip
            except ValueError:  # an empty cell
                return False
            if current is not value and not same_value(current, value):
                return False
        for value, _, seen, _ in self.mutables:
            if contents(value) != seen:
                return False
        if self.version != Structure.version:
            if any(contents(module) != seen for module, _, seen, _ in self.modules):
                return False
            self.version = Structure.version
        return True

    def changes(self) -> list[str]:
        """What differs from when this state was collected: the writes a capture refuses."""
        changed = [d for ns, name, value, d in self.names
                   if not same_value(_read(ns, name), value)]  # fmt: skip
        changed += [d for value, d, seen, _ in self.mutables if contents(value) != seen]
        changed += [d for module, d, seen, _ in self.modules if contents(module) != seen]
        return changed

    def restore(self) -> None:
        """Undo the step's writes to Python state (after a refused capture)."""
        for namespace, name, value, _ in self.names:
            if isinstance(namespace, dict):
                namespace[name] = value
            else:
                namespace.cell_contents = value
        for value, _, seen, saved in self.mutables + self.modules:
            if contents(value) == seen:
                continue
            if isinstance(value, np.ndarray):
                value[...] = saved
            elif isinstance(value, list):
                value[:] = saved
            else:
                target = value if isinstance(value, (dict, set)) else vars(value)
                target.clear()
                target.update(saved)
        Structure.version += 1


def _read(namespace, name: str):
    if isinstance(namespace, dict):
        return namespace.get(name, _MISSING)
    try:
        return namespace.cell_contents
    except ValueError:  # an empty cell
        return _MISSING


def _loaded_names(code) -> set[str]:
    """Every global name the code (and the functions, lambdas and comprehensions inside it)
    loads or stores (not attribute names: `optimizer.step` names no global `step`)."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in _GLOBAL_OPS}
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _loaded_names(constant)
    return names


class RandomStates:
    """The states of Python's and NumPy's global generators, tinygrad_lite's (dropout, rand)
    and those the step reaches, taken before a capture: if one moved, the step drew random
    numbers, which a replay would repeat, not redraw (the capture is refused and they are put
    back)."""

    def __init__(self, generators):
        from .. import creation

        self.generators = [generator for generator in generators
                           if isinstance(generator, np.random.Generator)]  # fmt: skip
        self.randoms = [random, *(g for g in generators if isinstance(g, random.Random))]
        self.creation = creation
        self.saved = self._states()

    def _states(self) -> tuple:
        return (
            [r.getstate() for r in self.randoms],
            np.random.get_state(),
            self.creation.generator_state(),
            [g.bit_generator.state for g in self.generators],
        )

    def moved(self) -> bool:
        now, then = self._states(), self.saved
        legacy_now, legacy_then = now[1], then[1]
        same_legacy = all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
                          for a, b in zip(legacy_now, legacy_then))  # fmt: skip
        return not (now[0] == then[0] and same_legacy and _same_tree(now[2], then[2])
                    and _same_tree(now[3], then[3]))  # fmt: skip

    def restore(self) -> None:
        randoms, legacy, own, generators = self.saved
        for r, saved in zip(self.randoms, randoms):
            r.setstate(saved)
        np.random.set_state(legacy)
        self.creation.set_generator_state(own)
        for generator, saved in zip(self.generators, generators):
            generator.bit_generator.state = saved


def _same_tree(a, b) -> bool:
    """Equality of generator states (dicts, lists, ints and arrays)."""
    if isinstance(a, dict):
        same_keys = isinstance(b, dict) and a.keys() == b.keys()
        return same_keys and all(_same_tree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(_same_tree, a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b
