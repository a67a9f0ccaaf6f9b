"""The Optimizer base class: parameter groups, per-parameter state, zero_grad and state_dict.

A subclass writes only `update(p, g, state, group)`: the rule for one parameter, on arrays,
modifying p and its state in place (arrays, not Tensors: nothing is recorded, and no no_grad is
needed). `step()` runs it for every parameter that has a gradient, and bumps each parameter's
version so a stale graph cannot be back-propagated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import state as engine_state
from ..autograd import replayed_whole
from ..tensor import Tensor


class ParameterGroup(dict):
    """One entry of `optimizer.param_groups`: a plain dict of hyper-parameters and 'params',
    except that a capture (tl.jit) hears Python code read or write it inside a step, so that a
    replay never runs with a learning rate the step read at capture and that changed since."""

    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        if engine_state.modes.observer is not None:
            engine_state.modes.observer.on_parameter_group(self, key, value, write=False)
        return value

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __setitem__(self, key, value) -> None:
        if engine_state.modes.observer is not None:
            engine_state.modes.observer.on_parameter_group(self, key, value, write=True)
        dict.__setitem__(self, key, value)

    def update(self, *args, **kwargs) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value


class Optimizer:
    """Base class. `params` is an iterable of Tensors, or of dicts {'params': [...], **hyper}
    to give groups of parameters their own hyper-parameters (as in PyTorch)."""

    def __init__(self, params: Iterable, defaults: dict[str, Any]):
        name = type(self).__name__
        if isinstance(params, (Tensor, dict)):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors (model.parameters(), [w, b]) or "
                f"of parameter-group dicts, got a single {type(params).__name__}"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups = [
            ParameterGroup({**defaults, **g, "params": list(g["params"])}) for g in groups
        ]
        self.state: dict[int, dict[str, Any]] = {}  # keyed by id(param)
        for group in self.param_groups:
            check_hyper_parameters(name, group)
        seen: set[int] = set()
        for p in self._params():  # frozen (requires_grad=False) parameters are allowed, and skipped
            if not (isinstance(p, Tensor) and p.is_leaf):
                raise TypeError(f"{name}: parameters must be leaf Tensors, got {p!r}")
            if id(p) in seen:
                raise ValueError(
                    f"{name}: a parameter of shape {p.shape} is listed twice; it would be "
                    "updated twice per step"
                )
            seen.add(id(p))

    def _params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    @replayed_whole
    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        for group in self.param_groups:
            group = dict(group)  # NOTE: a plain dict: update() reads it per parameter
            for p in group["params"]:
                grad = p._grad  # NOTE: not the .grad property: tl.jit hears only the step's writes
                if grad is None:
                    continue
                state = self.state.get(id(p))
                if state is None:
                    state = self.state[id(p)] = {"step": 0}
                state["step"] += 1
                self.update(p.data, grad.data, state, group)
                p._counter.value += 1  # NOTE: p changed in place: stale graphs must not use it

    @replayed_whole
    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self._params():
            p.zero_grad(set_to_none)

    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {name: value}}, 'param_groups': [{hyper, 'params': [indices]}]},
        with parameters numbered in group order (saveable with tl.save)."""
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {str(index[key]): dict(values) for key, values in self.state.items()}
        groups = [
            {
                **{k: v for k, v in g.items() if k != "params"},
                "params": [index[id(p)] for p in g["params"]],
            }
            for g in self.param_groups
        ]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state saved by `state_dict`.

        Everything is checked before anything changes: a state dict of another optimizer or
        model raises ValueError and leaves this optimizer as it was.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups' entries")
        params, groups = self._params(), state_dict["param_groups"]
        sizes = [len(g.get("params", ())) if isinstance(g, dict) else None for g in groups]
        if sizes != [len(g["params"]) for g in self.param_groups]:
            raise ValueError(
                f"{name}: the saved groups hold {sizes} parameters, this optimizer "
                f"{[len(g['params']) for g in self.param_groups]}"
            )
        for own, saved in zip(self.param_groups, groups):
            # NOTE: extra saved keys (PyTorch's foreach, ...) pass; missing ones are refused
            missing = sorted(set(own) - set(saved))
            if missing:
                raise ValueError(
                    f"{name}: the saved groups lack the hyper-parameters {missing} of "
                    f"{type(self).__name__} (they have {sorted(set(saved) - {'params'})}): a "
                    "state dict of another optimizer"
                )
        new_groups = [
            {**own, **{k: _hyper_parameter(v) for k, v in saved.items() if k != "params"}}
            for own, saved in zip(self.param_groups, groups)
        ]
        for group in new_groups:
            check_hyper_parameters(name, group)
        new_state = {}
        for i, values in state_dict["state"].items():
            p = _indexed_parameter(name, params, i)
            new_state[id(p)] = {k: _state_value(name, p, k, v) for k, v in values.items()}
        for own, new in zip(self.param_groups, new_groups):
            own.update(new)
        self.state = new_state


# Hyper-parameters that must be numbers >= 0, where an optimizer has them.
_NON_NEGATIVE = ("lr", "eps", "weight_decay", "momentum", "dampening", "alpha", "lr_decay",
                 "initial_accumulator_value")  # fmt: skip


def check_hyper_parameters(name: str, group: dict[str, Any]) -> None:
    """Raise ValueError naming the argument, its value and what is allowed (as PyTorch does)."""
    for key in _NON_NEGATIVE:
        if key in group:
            value = group[key]
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"{name}: {key} must be a number, got {value!r}")
            if not value >= 0:  # NOTE: also refuses NaN
                raise ValueError(f"{name}: {key} must be >= 0, got {value}")
    if "betas" in group:
        betas = group["betas"]
        if len(betas) != 2 or not all(isinstance(b, (int, float, np.number)) for b in betas):
            raise ValueError(f"{name}: betas must be two numbers, got {betas!r}")
        for i, beta in enumerate(betas):
            if not 0 <= beta < 1:
                raise ValueError(f"{name}: betas[{i}] must be in [0, 1), got {beta}")


def _indexed_parameter(name: str, params: list[Tensor], index) -> Tensor:
    try:
        i = int(index)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: state key {index!r} is not a parameter index") from None
    if not 0 <= i < len(params):
        raise ValueError(f"{name}: state for parameter {i}, but there are {len(params)}")
    return params[i]


def _hyper_parameter(value):
    """After a save/load round trip: 0-d arrays back to numbers, vectors (betas) to tuples."""
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else tuple(value.tolist())
    return value


def _state_value(name: str, p: Tensor, key: str, value):
    """The step count back to an int; moment arrays, checked to have the parameter's shape, as
    copies on the parameter's device."""
    if key == "step":
        return int(value)
    array = np.asarray(value.numpy() if isinstance(value, Tensor) else value)
    if array.shape != p.shape or array.dtype.kind not in "biuf":
        raise ValueError(
            f"{name}: state {key!r} has shape {array.shape} ({array.dtype}), but its parameter "
            f"has shape {p.shape}"
        )
    return p.xp.array(array, dtype=p.dtype)
