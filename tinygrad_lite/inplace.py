"""In-place updates of tensors, refused where they would corrupt a gradient: `x += y`, `x[i] = y`,
`x.add_(y)`, `x.copy_(y)` (Tensor's methods call these two functions)."""

from __future__ import annotations

from . import state


def update_in_place(x, other, statement: str, update):
    """update(x.data, other) and a new version of x's memory; refused when a gradient needs
    x or other as they are."""
    if state.would_record(x, other):
        raise RuntimeError(
            f"{statement}: in-place change involving a tensor that requires grad, whose "
            "gradient would be lost; compute a new tensor instead (x = x + y), or wrap the "
            "update in `with tl.no_grad():`"
        )
    if state.modes.observer is not None:
        state.modes.observer.on_in_place(x, other, update)
    update(x.data, getattr(other, "data", other) if hasattr(other, "_counter") else other)
    x._counter.value += 1
    return x


def augmented(x, other, statement: str, update, op):
    """`x += y` (and -=, *=, /=). Outside the graph: in place. On a tensor in the graph
    (or with `y` requiring grad), the name is rebound to the new tensor `op(x, y)`, as
    micrograd and Python numbers do; the gradients equal PyTorch's in-place ones. Refused
    where that would differ from PyTorch: on a leaf that requires grad (its .grad would go
    to a copy), on a tensor sharing memory with another (a view or detach() of it would
    keep the old values), or when the result has another shape or dtype."""
    if not state.would_record(x, other):
        return update_in_place(x, other, statement, update)
    if x.creator is None and x._requires_grad:
        return update_in_place(x, other, statement, update)  # raises, saying why
    if x._counter.aliased:
        raise RuntimeError(
            f"{statement}: x is in the graph and shares its memory with another tensor (a "
            "view of it, the tensor it views, or a detach()), which would keep the old "
            "values; write x = x + y (a new tensor) instead"
        )
    result = op(x, other)
    if result.shape != x.shape or result.dtype != x.dtype:
        raise RuntimeError(
            f"{statement}: x has shape {x.shape} ({x.dtype}) but x op y has shape "
            f"{result.shape} ({result.dtype}); an in-place update cannot change either"
        )
    return result
