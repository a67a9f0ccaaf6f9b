"""The Optimizer base class: parameter groups, per-parameter state, zero_grad and state_dict.

A subclass writes only `update(p, g, state, group)`: the rule for one parameter, on arrays,
modifying p and its state in place. `step()` runs it under no_grad for every parameter that has
a gradient, and bumps each parameter's version so a stale graph cannot be back-propagated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor


class Optimizer:
    """Base class. `params` is an iterable of Tensors, or of dicts {'params': [...], **hyper}
    to give groups of parameters their own hyper-parameters (as in PyTorch)."""

    def __init__(self, params: Iterable, defaults: dict[str, Any]):
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups = [{**defaults, **g, "params": list(g["params"])} for g in groups]
        self.state: dict[int, dict[str, Any]] = {}  # keyed by id(param)
        for p in self._params():  # frozen (requires_grad=False) parameters are allowed, and skipped
            if not (isinstance(p, Tensor) and p.is_leaf):
                raise TypeError(
                    f"{type(self).__name__}: parameters must be leaf Tensors, got {p!r}"
                )

    def _params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        state = self.state.setdefault(id(p), {"step": 0})
                        state["step"] += 1
                        self.update(p.data, p.grad.data, state, group)
                        p._version += 1  # NOTE: p changed in place; stale graphs must not use it

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
        """Restore hyper-parameters and per-parameter state saved by `state_dict`."""
        params = self._params()
        groups = state_dict["param_groups"]
        if [len(g["params"]) for g in groups] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the saved groups hold "
                f"{[len(g['params']) for g in groups]} parameters, this optimizer "
                f"{[len(g['params']) for g in self.param_groups]}"
            )
        for own, saved in zip(self.param_groups, groups):
            own.update({k: _hyper_parameter(v) for k, v in saved.items() if k != "params"})
        self.state = {}
        for i, values in state_dict["state"].items():
            p = params[int(i)]
            self.state[id(p)] = {k: _state_value(p, k, v) for k, v in values.items()}


def _hyper_parameter(value):
    """After a save/load round trip: 0-d arrays back to numbers, vectors (betas) to tuples."""
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else tuple(value.tolist())
    return value


def _state_value(p: Tensor, key: str, value):
    """The step count back to an int; moment arrays as copies on the parameter's device."""
    if key == "step":
        return int(value)
    return p.xp.array(value, dtype=p.dtype)
