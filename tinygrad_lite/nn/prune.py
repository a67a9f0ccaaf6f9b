"""Pruning, with torch.nn.utils.prune's interface and semantics (as `tl.nn.utils.prune`).

Pruning `name` of a module keeps the Parameter as `name_orig`, adds a buffer `name_mask` of 0s
and 1s, and makes `module.name` the product `name_orig * name_mask`, recomputed at every access,
so the pruned weights are 0 in every forward and get a 0 gradient; no optimizer, Adam's moments
included, can bring them back into the output. Pruning again composes: the amount applies to what
is still unpruned. `remove` makes it permanent. State-dict keys are PyTorch's (`weight_orig`,
`weight_mask`), so checkpoints of pruned models move between the two.

`amount` is a fraction in [0, 1] of the entries (or channels) still unpruned, rounded to the
nearest count, or an int count.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .. import creation
from ..tensor import Tensor
from .module import Module, Parameter


def _count(amount, alive: int, name: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, (int, float, np.integer, np.floating)):
        raise TypeError(f"prune: amount must be a fraction or a count, got {amount!r}")
    if isinstance(amount, (int, np.integer)):
        if not 0 <= amount <= alive:
            raise ValueError(f"prune: amount={amount} for {name}, but {alive} entries are left")
        return int(amount)
    if not 0 <= amount <= 1:
        raise ValueError(f"prune: a fractional amount must be in [0, 1], got {amount}")
    return int(round(amount * alive))


def _state(module: Module, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(the weights, the current mask) of `name`, pruned already or not."""
    if is_pruned_name(module, name):
        return getattr(module, name + "_orig").data, getattr(module, name + "_mask").data
    weights = getattr(module, name, None)
    if not isinstance(weights, Parameter):
        raise ValueError(f"prune: {type(module).__name__} has no parameter {name!r}")
    return weights.data, np.ones_like(weights.data)


def _apply(module: Module, name: str, mask: np.ndarray) -> Module:
    """Install `mask` (the combined one) for `name`, reparametrizing on the first call."""
    if not is_pruned_name(module, name):
        weights = vars(module).pop(name)
        setattr(module, name + "_orig", weights)
    module.register_buffer(
        name + "_mask", Tensor(mask.astype(module.__dict__[name + "_orig"].dtype))
    )
    return module


def is_pruned_name(module: Module, name: str) -> bool:
    return name + "_orig" in vars(module) and name + "_mask" in vars(module)


def _prune_smallest(scores: np.ndarray, alive: np.ndarray, amount, what: str) -> np.ndarray:
    """The alive mask with the `amount` alive entries of smallest score set to False."""
    candidates = np.flatnonzero(alive)
    k = _count(amount, candidates.size, what)
    keep = alive.copy()
    if k:
        order = np.argsort(scores[candidates], kind="stable")[:k]
        keep[candidates[order]] = False
    return keep


def l1_unstructured(module: Module, name: str, amount) -> Module:
    """Prune the `amount` unpruned entries of smallest |w|."""
    weights, mask = _state(module, name)
    alive = mask.reshape(-1) != 0
    keep = _prune_smallest(np.abs(weights).reshape(-1), alive, amount, name)
    return _apply(module, name, keep.reshape(mask.shape))


def random_unstructured(module: Module, name: str, amount) -> Module:
    """Prune `amount` unpruned entries chosen at random (tl.manual_seed makes it repeatable)."""
    weights, mask = _state(module, name)
    alive = mask.reshape(-1) != 0
    scores = creation.rand(alive.size, dtype=np.float64).numpy()
    keep = _prune_smallest(scores, alive, amount, name)
    return _apply(module, name, keep.reshape(mask.shape))


def ln_structured(module: Module, name: str, amount, n, dim: int) -> Module:
    """Prune whole slices along `dim` (output channels for dim=0) of smallest L`n` norm."""
    weights, mask = _state(module, name)
    dim = dim % weights.ndim
    others = tuple(a for a in range(weights.ndim) if a != dim)
    order = np.inf if n in ("inf", np.inf) else n
    norms = np.linalg.norm(np.moveaxis(weights, dim, 0).reshape(weights.shape[dim], -1),
                           ord=order, axis=1)  # fmt: skip
    alive = mask.sum(axis=others) != 0
    keep = _prune_smallest(norms, alive, amount, name)
    shape = [1] * weights.ndim
    shape[dim] = -1
    return _apply(module, name, mask * keep.reshape(shape))


def custom_from_mask(module: Module, name: str, mask) -> Module:
    """Prune where `mask` is 0 (combined with any earlier pruning)."""
    _, current = _state(module, name)
    mask = np.asarray(mask.numpy() if isinstance(mask, Tensor) else mask)
    if mask.shape != current.shape:
        raise ValueError(f"custom_from_mask: mask {mask.shape} for {name} of shape {current.shape}")
    return _apply(module, name, current * (mask != 0))


class L1Unstructured:
    """The pruning method of l1_unstructured, for global_unstructured."""

    @staticmethod
    def scores(weights: np.ndarray) -> np.ndarray:
        return np.abs(weights)


class RandomUnstructured:
    """The pruning method of random_unstructured, for global_unstructured."""

    @staticmethod
    def scores(weights: np.ndarray) -> np.ndarray:
        return creation.rand(weights.size, dtype=np.float64).numpy().reshape(weights.shape)


def global_unstructured(parameters: Iterable[tuple[Module, str]], pruning_method, amount) -> None:
    """Prune `amount` of the unpruned entries of all `parameters` together: the smallest scores
    across every tensor go, wherever they are (a layer may lose more than another)."""
    targets = list(parameters)
    states = [_state(module, name) for module, name in targets]
    scores = np.concatenate([pruning_method.scores(w).reshape(-1) for w, _ in states])
    alive = np.concatenate([m.reshape(-1) != 0 for _, m in states])
    keep = _prune_smallest(scores, alive, amount, "the parameters")
    start = 0
    for (module, name), (_, mask) in zip(targets, states):
        _apply(module, name, keep[start : start + mask.size].reshape(mask.shape))
        start += mask.size


def remove(module: Module, name: str) -> Module:
    """Make the pruning of `name` permanent: a plain Parameter `name` = orig * mask again."""
    if not is_pruned_name(module, name):
        raise ValueError(f"remove: parameter {name!r} of {type(module).__name__} is not pruned")
    orig = vars(module).pop(name + "_orig")
    mask = vars(module).pop(name + "_mask")
    module._buffer_names.remove(name + "_mask")
    setattr(module, name, Parameter(orig.data * mask.data, requires_grad=orig.requires_grad))
    return module


def is_pruned(module: Module) -> bool:
    """True when any parameter of `module` or of a module below it is pruned."""
    return any(
        name.endswith("_mask") and is_pruned_name(sub, name[: -len("_mask")])
        for sub in module.modules()
        for name in vars(sub)
    )


from .shrink import shrink  # noqa: E402, F401  (prune.shrink: physical removal after pruning)
