"""The check as a problem in float64: the layer copied to float64 (the user's is untouched), its
parameters as extra arguments, and random draws (Dropout) replayed identically at every call."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence

import numpy as np

from ..nn.module import Module, Parameter
from ..tensor import Tensor


def float64_copy(module: Module) -> Module:
    twin = copy.deepcopy(module)
    for sub in twin.modules():
        for name, value in list(vars(sub).items()):
            if isinstance(value, Parameter):
                cast = Parameter(value.data.astype(np.float64), requires_grad=value.requires_grad)
                setattr(sub, name, cast)
            elif isinstance(value, Tensor) and value.dtype.kind == "f":  # a buffer
                setattr(sub, name, Tensor(value.data.astype(np.float64)))
    return twin


def _parameter_slots(module: Module) -> list[tuple[str, Module, str]]:
    """(dotted name, owning module, attribute) of every parameter that requires grad."""
    slots = []
    for prefix, sub in _named_modules(module, ""):
        for attribute, value in vars(sub).items():
            if isinstance(value, Parameter) and value.requires_grad:
                slots.append((prefix + attribute, sub, attribute))
    return slots


def _named_modules(module: Module, prefix: str):
    yield prefix, module
    for name, child in module.named_children():
        yield from _named_modules(child, f"{prefix}{name}.")


def _as_float64(x) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    if x.dtype.kind != "f":
        return x
    return Tensor(x.data.astype(np.float64), requires_grad=True)


def float64_problem(fn_or_module, inputs, params: bool):
    """(run, arguments, names, restore): the check as a function of float64 tensors, the inputs
    followed by the module's parameters, on a float64 copy of the module."""
    xs = [_as_float64(x) for x in inputs]
    slots, target = [], fn_or_module
    if isinstance(fn_or_module, Module):
        target = float64_copy(fn_or_module)
        slots = _parameter_slots(target) if params else []
    weights = [getattr(owner, attribute) for _, owner, attribute in slots]

    def run(*args):
        for (_, owner, attribute), value in zip(slots, args[len(xs) :]):
            setattr(owner, attribute, value)
        return target(*args[: len(xs)])

    def restore():
        for (_, owner, attribute), original in zip(slots, weights):
            setattr(owner, attribute, original)

    names = [f"input {i}" for i in range(len(xs))] + [name for name, _, _ in slots]
    return run, [*xs, *weights], names, restore


@contextlib.contextmanager
def replayed_random_numbers():
    """Yields `replay(fn)`: fn, made to restart tl's random generator from the state it had on
    entry at every call, so a Dropout mask is the same in every evaluation of a check. The state
    is restored on exit, so the check does not consume the user's random numbers."""
    from .. import creation

    state = creation._rng.bit_generator.state

    def replay(fn):
        def replayed(*args):
            creation._rng.bit_generator.state = state
            return fn(*args)

        return replayed

    try:
        yield replay
    finally:
        creation._rng.bit_generator.state = state


def fresh_leaves(arguments: Sequence[Tensor]) -> list[Tensor]:
    return [Tensor(x.data.copy(), requires_grad=x.requires_grad) for x in arguments]
