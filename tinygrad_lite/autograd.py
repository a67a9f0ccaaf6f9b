"""Reverse-mode automatic differentiation: the `Function` node, grad mode, and the backward walk.

Every op is a `Function` subclass. `Function.apply` runs `forward` on raw arrays and, when a
gradient is needed, records the function on the tape: it stamps a sequence number, keeps its input
Tensors and a weak reference to its output. `backward` collects the functions reachable from the
root and runs them newest-first (reverse execution order is a topological order), so there is no
recursion and no limit on graph depth.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import weakref
from collections.abc import Sequence

import numpy as np

from .backend import check_same_device, get_array_module, nudge_one_ulp, read_only
from .state import modes, replayed_whole, would_record  # noqa: F401  (tl.autograd's names)
from .tensor import Tensor, share_memory_state

_sequence = itertools.count()


# Called as hook(leaves) at the end of Tensor.backward with the leaves whose .grad it just
# updated; DistributedDataParallel averages gradients across processes there. Process-wide on
# purpose: a model wrapped once is averaged whichever thread runs its backward.
post_backward_hooks: list = []
# Leaves whose .grad a backward nested inside an op's backward wrote (activation checkpointing
# recomputes a segment and backpropagates through it there): per thread, collected for the
# enclosing Tensor.backward, which hands them to the hooks with its own.
_nested = threading.local()


def note_leaves_reached(leaves) -> None:
    """Tell the enclosing Tensor.backward that these leaves' .grad changed too."""
    reached = getattr(_nested, "leaves", None)
    if reached is not None:
        reached.extend(leaves)


def backward_hooks() -> list:
    """This thread's backward hooks (see `state.Modes`)."""
    return modes.backward_hooks


def is_grad_enabled() -> bool:
    """True when new ops are being recorded for backward (in this thread)."""
    return modes.grad_enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Turn recording on or off inside a `with` block (or a decorated function), for the
    current thread only, as in PyTorch."""

    def __init__(self, mode: bool):
        self.mode = mode
        self.previous: list[bool] = []  # a stack, so one instance can be entered re-entrantly

    def __enter__(self):
        self.previous.append(modes.grad_enabled)
        modes.grad_enabled = self.mode

    def __exit__(self, *exc):
        modes.grad_enabled = self.previous.pop()


@contextlib.contextmanager
def rounding_noise(rng):
    """Inside the block (this thread only), perturb every op's float result by one unit in the
    last place at random: rerunning a computation so shows how far rounding can move its result
    (tl.testing uses it to tell float32 rounding from a wrong gradient)."""
    previous, modes.rounding_noise = modes.rounding_noise, rng
    try:
        yield
    finally:
        modes.rounding_noise = previous


class no_grad(set_grad_enabled):
    """`with tl.no_grad():` runs ops without recording them: no graph, nothing kept."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Turn recording back on inside a `no_grad` block."""

    def __init__(self):
        super().__init__(True)


class Function:
    """One recorded op. Subclasses define `forward(*arrays, **params)` and `backward(gy)`.

    `forward` gets and returns arrays (`self.xp` is NumPy or CuPy). `backward` gets the output's
    gradient as a Tensor and returns one Tensor (or None) per input, computed with our own ops,
    so that `create_graph=True` records the backward pass and gives higher derivatives for free.
    """

    xp = None
    differentiable = True  # False: never recorded on the tape (comparisons: bool results)
    once_differentiable = False  # True: backward is not differentiable; create_graph refuses it
    # Optional fast path, `backward_untracked(gy_array) -> array or tuple of arrays (or None)`:
    # the same rule as `backward` on plain arrays (or in a CUDA kernel), which the engine runs
    # instead of `backward` when no graph is being recorded (no create_graph), so that the
    # gradient of a layer costs no recorded nodes. `backward` stays the differentiable rule.
    backward_untracked = None
    inputs: tuple[Tensor, ...] | None = None
    needs_input_grad: tuple[bool, ...] = ()

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, gy: Tensor):
        raise NotImplementedError

    def output(self) -> Tensor:
        """The Tensor this function produced (held weakly, so it does not keep itself alive)."""
        return self._output()

    @classmethod
    def apply(cls, *inputs: Tensor, **params) -> Tensor:
        arrays = [x.data for x in inputs]
        check_same_device(cls.__name__, arrays)
        fn = cls()
        fn.xp = get_array_module(*arrays)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            out = fn.forward(*arrays, **params)  # NOTE: inf and NaN are results, as in torch
        if modes.rounding_noise is not None:
            out = nudge_one_ulp(out, modes.rounding_noise)
        y = leaf_on(out)
        share_memory_state(y, inputs)  # a view (reshape, slice, transpose) shares the version
        if modes.grad_enabled and cls.differentiable and any(x._requires_grad for x in inputs):
            y._requires_grad = True
            y.creator = fn
            fn.inputs, fn.params = inputs, params  # params: to replay the node (tl.testing)
            fn.needs_input_grad = tuple(x._requires_grad for x in inputs)
            fn.seq = next(_sequence)
            fn._output = weakref.ref(y)
            counters = [x._counter for x in inputs] + [y._counter]
            for counter in counters:
                counter.recorded = True  # .numpy() of these is read-only from now on
            fn.versions = tuple(counter.value for counter in counters)
        if modes.observer is not None:
            modes.observer.on_apply(fn, inputs, params, y, out)
        return y

    def check_versions(self) -> None:
        """Refuse to differentiate through a tensor modified in place after this op used it."""
        for i, (x, seen) in enumerate(zip((*self.inputs, self.output()), self.versions)):
            if x is not None and x._version != seen:
                role = f"input {i}" if i < len(self.inputs) else "output"
                raise RuntimeError(
                    f"{type(self).__name__}: its {role} of shape {x.shape} was modified in place "
                    f"after the op ran (version {seen} -> {x._version}), so its gradient would be "
                    "wrong; compute a new tensor (x = x + 1) instead of modifying it (x += 1)"
                )

    def release(self) -> None:
        """Drop the inputs and everything the forward saved (masks, indices, log p), so the graph
        behind this node and its arrays can be freed; only what tells a second backward that the
        graph is gone stays."""
        for name in [name for name in vars(self) if name not in _KEPT_AFTER_RELEASE]:
            delattr(self, name)
        self.inputs = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


_KEPT_AFTER_RELEASE = ("seq", "needs_input_grad", "_output", "xp")


def leaf_on(array) -> Tensor:
    """A leaf on an array the engine just made (a NumPy scalar or CuPy array converted)."""
    return Tensor.wrap(array) if type(array) is np.ndarray else Tensor(array)


def reachable_functions(roots: Sequence[Tensor]) -> list[Function]:
    """Every recorded function the roots depend on, newest first (a topological order); the
    backward walk, and tl.testing's replay of a graph op by op."""
    seen, stack, found = set(), [root.creator for root in roots], []
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        if fn.inputs is None:
            raise RuntimeError(
                f"backward through {fn!r} a second time: its graph was freed by the first "
                "backward; pass retain_graph=True to the first call if you need to backward twice"
            )
        seen.add(id(fn))
        found.append(fn)
        stack.extend(x.creator for x in fn.inputs)
    return sorted(found, key=lambda fn: fn.seq, reverse=True)


def _gradients_of_inputs(fn: Function, gy: Tensor) -> tuple:
    """Run fn.backward and check that it returned one gradient of the right shape per input."""
    name = f"{type(fn).__name__}.backward"
    try:
        # NOTE: gy may be shared (Add hands one gradient to both inputs), so backward gets it
        # read-only: a backward that writes into it raises here instead of corrupting others
        recorder = modes.observer
        if fn.backward_untracked is not None and not modes.grad_enabled:
            returned = fn.backward_untracked(read_only(gy.data))
            gxs = returned if isinstance(returned, tuple) else (returned,)
            gxs = tuple(None if g is None else leaf_on(g) for g in gxs)
            if recorder is not None:
                recorder.on_backward_untracked(fn, gy, gxs, returned)
        else:
            incoming = gy if gy.requires_grad else Tensor(read_only(gy.data))
            if recorder is not None:
                recorder.on_composed_backward(fn, incoming, gy)
            gxs = fn.backward(incoming)
            if recorder is not None:
                recorder.on_composed_backward_done(fn)
    except ValueError as error:
        if "read-only" not in str(error):
            raise
        raise RuntimeError(
            f"{name} modified its incoming gradient in place; compute a new tensor instead "
            "(gy * 3, not gy *= 3 or np.clip(gy.data, ..., out=gy.data))"
        ) from error
    gxs = gxs if isinstance(gxs, tuple) else (gxs,)
    if modes.grad_enabled and getattr(fn, "once_differentiable", False):
        raise RuntimeError(
            f"{name} is marked once_differentiable: create_graph=True through it would give "
            "wrong second derivatives"
        )
    if len(gxs) != len(fn.inputs):
        raise RuntimeError(f"{name} returned {len(gxs)} gradients for {len(fn.inputs)} inputs")
    for i, (x, gx, needed) in enumerate(zip(fn.inputs, gxs, fn.needs_input_grad)):
        if not needed or gx is None:
            continue
        if not isinstance(gx, Tensor):
            raise TypeError(f"{name} returned a {type(gx).__name__} for input {i}, not a Tensor")
        if modes.grad_enabled and gy.requires_grad and not gx.requires_grad:
            raise RuntimeError(
                f"{name} is not differentiable: with create_graph=True it returned a gradient "
                f"for input {i} that is cut off from the graph (made from raw arrays, or "
                "detached), so second derivatives through it would be silently wrong; write the "
                "backward with tensor ops, or do not differentiate it twice"
            )
        if gx.shape != x.shape or gx.dtype != x.dtype:
            raise RuntimeError(
                f"{name} returned a gradient of shape {gx.shape} ({gx.dtype}) for input {i} "
                f"of shape {x.shape} ({x.dtype})"
            )
    return gxs


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    wanted: Sequence[Tensor] | None = None,
) -> dict[int, tuple[Tensor, Tensor]]:
    """Propagate `root_grads` from `roots` back through the recorded graph.

    Returns {id(x): (x, gradient)} for the `wanted` tensors or, when `wanted` is None, for every
    leaf that requires grad. Pending gradients are keyed by id(tensor) and hold the tensor
    itself, so an id cannot be reused while its gradient waits.
    """
    pending: dict[int, tuple[Tensor, Tensor]] = {}

    def accumulate(x: Tensor, g: Tensor) -> None:
        _, previous = pending.get(id(x), (x, None))
        pending[id(x)] = (x, g if previous is None else previous + g)

    for root, g in zip(roots, root_grads):
        accumulate(root, g)
    wanted_ids = None if wanted is None else {id(x) for x in wanted}
    results: dict[int, tuple[Tensor, Tensor]] = {}
    quiet = np.errstate(divide="ignore", over="ignore", invalid="ignore")  # as in Function.apply
    with set_grad_enabled(create_graph), quiet:
        for fn in reachable_functions(roots):
            y = fn.output()
            _, gy = pending.pop(id(y), (None, None)) if y is not None else (None, None)
            if gy is not None:  # else no gradient reached this node: nothing to propagate
                if wanted_ids is not None and id(y) in wanted_ids:
                    results[id(y)] = (y, gy)
                fn.check_versions()
                gxs = _gradients_of_inputs(fn, gy)
                for hook in modes.backward_hooks:
                    hook(fn, gy, gxs)
                for x, gx, needed in zip(fn.inputs, gxs, fn.needs_input_grad):
                    if needed and gx is not None:
                        accumulate(x, gx)
            if not retain_graph:
                fn.release()

    for x, g in pending.values():
        if (wanted_ids is None and x.creator is None) or (wanted_ids and id(x) in wanted_ids):
            results[id(x)] = (x, g)
    return results


def _root_gradient(y: Tensor, gradient, name: str) -> Tensor:
    if not y.requires_grad:
        raise RuntimeError(
            f"{name}: the output does not require grad (no input of it has requires_grad=True, "
            "or it was computed under no_grad)"
        )
    if gradient is None:
        if y.size != 1:
            raise RuntimeError(
                f"{name}: the output has shape {y.shape}, not a scalar; pass a gradient of that "
                "shape (gradient=...) or reduce it first, e.g. y.sum().backward()"
            )
        return Tensor(y.xp.ones_like(y.data))
    gradient = gradient if isinstance(gradient, Tensor) else Tensor(gradient, dtype=y.dtype)
    if gradient.shape != y.shape:
        raise ValueError(f"{name}: gradient shape {gradient.shape} != output shape {y.shape}")
    return gradient


def backward(y: Tensor, gradient=None, retain_graph=False, create_graph=False) -> None:
    """Accumulate d(y)/d(leaf) into `leaf.grad` for every leaf that requires grad."""
    g = _root_gradient(y, gradient, "backward")
    outer, _nested.leaves = getattr(_nested, "leaves", None), []
    try:
        grads = run_backward([y], [g], retain_graph or create_graph, create_graph)
        reached = [leaf for leaf, _ in grads.values()] + _nested.leaves
    finally:
        _nested.leaves = outer
    write_gradients(grads.values())
    recorder, modes.observer = modes.observer, None  # NOTE: tl.jit replays the hooks as wholes
    try:
        for hook in list(post_backward_hooks):
            if recorder is not None:
                recorder.on_call(hook, None, (reached,), {})
            hook(reached)
            if recorder is not None:
                recorder.on_call_done(hook, None)
    finally:
        modes.observer = recorder


def write_gradients(pairs) -> None:
    """accumulate_grad(leaf, g) for each (leaf, g), each write told to tl.jit's recorder as one
    (a replay repeats it: copied on the first backward, added on later ones), not as the ops the
    addition runs."""
    recorder, modes.observer = modes.observer, None
    try:
        for leaf, g in pairs:
            if recorder is not None:
                recorder.on_set_grad(leaf, g)
            accumulate_grad(leaf, g)
            if recorder is not None:
                recorder.on_grad_written(leaf)
    finally:
        modes.observer = recorder


def accumulate_grad(leaf: Tensor, g) -> None:
    """leaf.grad = g, or leaf.grad + g when it has one already; `g` is a Tensor, or an array
    (from a tl.jit replay).

    A new .grad gets its own writable, C-contiguous copy: backward passes share arrays freely
    (Add hands one upstream gradient to both inputs, and broadcast_to gives read-only views), and
    a weight used as W.T receives a transposed view. An in-place update of one leaf's .grad
    (clip_grad_norm_) must not reach another's, and optimizers run several times faster on
    contiguous arrays than on transposed ones. With create_graph the gradient carries its graph
    and is kept as is.
    """
    # NOTE: ._grad, not .grad: the engine's own writes are not the step's (tl.jit hears those)
    if leaf._grad is not None:
        leaf._grad = leaf._grad + g
    elif isinstance(g, Tensor) and g.requires_grad:
        leaf._grad = g
    else:
        leaf._grad = leaf_on((g.data if isinstance(g, Tensor) else g).copy(order="C"))


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of `outputs` with respect to `inputs`, returned instead of stored in `.grad`.

    Args:
        outputs: tensor(s) to differentiate; non-scalars need `grad_outputs`.
        inputs: tensor(s) that require grad (leaves or intermediate results).
        grad_outputs: the v of the vector-Jacobian product, one per output (None: 1 for scalars).
        retain_graph: keep the graph for another backward; defaults to `create_graph`.
        create_graph: record the computation, so the returned gradients can be differentiated.
        allow_unused: return None for an input the outputs do not depend on, instead of raising.

    >>> x = Tensor([3.0], requires_grad=True)
    >>> (dy,) = grad((x ** 3).sum(), x, create_graph=True)   # 3x² = 27
    >>> grad(dy.sum(), x)                                      # 6x = 18
    (Tensor([18.]),)
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not isinstance(grad_outputs, (list, tuple)):  # None, or one gradient for one output
        grad_outputs = [grad_outputs] * len(outputs)
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad: input {i} of shape {x.shape} does not require grad")
    root_grads = [_root_gradient(y, g, "grad") for y, g in zip(outputs, grad_outputs, strict=True)]
    retain_graph = create_graph if retain_graph is None else retain_graph
    found = run_backward(outputs, root_grads, retain_graph, create_graph, wanted=inputs)
    result = tuple(found[id(x)][1] if id(x) in found else None for x in inputs)
    for i, (x, g) in enumerate(zip(inputs, result)):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} of shape {x.shape} is not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return result
