"""The Recorder: the CaptureObserver (state.py) that writes down what one eager call of a step
does, as a linear program over numbered slots (one per array), and refuses what a replay could
not repeat. Every refusal raises JitError at once; the caller (step.py) then undoes the call.
"""

from __future__ import annotations

import numpy as np

from .. import state as engine_state
from ..tensor import Tensor
from .errors import JitError
from .guards import PythonState
from .journal import Journal


def _derived(method: str):
    """CapturedArray.method: the same on the argument, recorded as a step of the capture."""

    def derive(self, *args, **kwargs):
        result = getattr(self.captured_argument, method)(*args, **kwargs)
        observer = engine_state.modes.observer
        if isinstance(observer, Recorder):
            observer.on_convert(self.captured_argument, result, method, args, kwargs)
        return captured(result) if isinstance(result, np.ndarray) else result

    derive.__name__ = method
    return derive


def _refusing(what: str, method: str):
    """CapturedArray.method: refused while a step is captured, the argument's method after."""

    def refuse(self, *args):
        _refuse_read(what)
        return getattr(self.captured_argument, method)(*args)

    refuse.__name__ = method
    return refuse


class CapturedArray(np.ndarray):
    """A NumPy array argument as the step sees it while it is captured: a view that can be
    handed to tinygrad_lite (Tensor(x), model(x), losses unwrap it to the argument itself, whose
    values each replay reads afresh) and whose shape and dtype can be read, but whose values
    cannot be computed on in Python (`np.isnan(x).any()`, `x * 2`, `x[0]`): a replay runs no
    Python code, so it would skip such a check or freeze such a value. Outside a capture (a
    reference the step kept) it behaves as the array it views."""

    captured_argument = None  # the argument array (dtypes.as_array unwraps to it)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _refuse_read(f"np.{ufunc.__name__}")
        inputs = tuple(_plain(x) for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func not in _METADATA:
            _refuse_read(f"np.{func.__name__}")
        return func(*(_plain(a) for a in args), **kwargs)

    # Python reads of its values: refused while capturing, the argument's own otherwise
    __getitem__ = _refusing("indexing", "__getitem__")
    __bool__ = _refusing("bool()", "__bool__")
    __float__ = _refusing("float()", "__float__")
    __int__ = _refusing("int()", "__int__")
    __iter__ = _refusing("iteration", "__iter__")
    item = _refusing("item()", "item")
    tolist = _refusing("tolist()", "tolist")

    def __repr__(self) -> str:
        return f"<argument array of shape {self.shape}, {self.dtype}>"

    # views and conversions of the argument: recorded, so each replay makes them afresh
    reshape = _derived("reshape")
    ravel = _derived("ravel")
    flatten = _derived("flatten")
    transpose = _derived("transpose")
    swapaxes = _derived("swapaxes")
    squeeze = _derived("squeeze")
    astype = _derived("astype")
    copy = _derived("copy")
    T = property(lambda self: self.transpose())


_METADATA = (np.ndim, np.shape, np.size, np.result_type)


def _plain(value):
    return value.captured_argument if isinstance(value, CapturedArray) else value


def _refuse_read(what: str) -> None:
    observer = engine_state.modes.observer
    if isinstance(observer, Recorder):
        observer.refuse(
            f"tl.jit: {what} of a NumPy array argument inside the captured step computes on "
            "its values in Python, which a replay would not repeat (a check it would skip, a "
            "value it would freeze); convert it to a Tensor and use ops, or check the batch "
            "before calling the step"
        )


def captured(array: np.ndarray) -> CapturedArray:
    """`array` (an argument) as the step sees it during a capture."""
    view = array.view(CapturedArray)
    view.captured_argument = array
    return view


class Recorder:
    """One capture: `steps` (what to replay), `slot_of` (array id -> slot), `externals` (the
    tensors read afresh at every replay: parameters, buffers, constants made in the step)."""

    def __init__(self, arrays, tensors, python: PythonState):
        self.slot_of: dict[int, int] = {}
        self.keep_alive: list = []  # NOTE: ids stay unique only while the arrays live
        self.externals: list[tuple[int, Tensor, object]] = []  # (slot, tensor, its array then)
        self.steps: list[tuple] = []
        self.produced: set[int] = set()  # slots made by recorded steps
        self.modules: dict[int, object] = {}
        self.backward_of = None  # the Function whose composed backward is running
        self.group_reads: list[tuple] = []  # (parameter group, key, value) Python code read
        self.python = python
        self.journal = Journal()
        self.refused: JitError | None = None  # raised once; raised again if the step caught it
        self.argument_index = {id(t): i for i, t in enumerate(tensors) if t is not None}
        self.argument_tensors = tensors
        self.arguments = [self._new_slot(a) for a in arrays]

    def refuse(self, message: str):
        """Raise (and remember) the JitError that ends this capture."""
        self.refused = JitError(message)
        raise self.refused

    def _new_slot(self, array) -> int:
        slot = len(self.keep_alive)
        self.keep_alive.append(array)
        self.slot_of[id(array)] = slot
        return slot

    def slot(self, tensor: Tensor) -> int:
        """The slot of a tensor's array; an unseen one is external (read afresh at replay)."""
        found = self.slot_of.get(id(tensor.data))
        if found is None:
            if self.backward_of is not None and tensor.size > 1:
                self.refuse(
                    f"tl.jit: {type(self.backward_of).__name__}'s backward builds a constant from "
                    "values its forward saved, which a replay would freeze; give the op an "
                    "array backward (backward_untracked), as every built-in op has"
                )
            found = self._new_slot(tensor.data)
            self.externals.append((found, tensor, tensor.data))
        return found

    def _output_slot(self, array) -> int:
        slot = self._new_slot(array)
        self.produced.add(slot)
        return slot

    # ---- the CaptureObserver events ------------------------------------------------------------
    def on_apply(self, fn, inputs, params, y: Tensor, returned) -> None:
        self._check_params(fn, params)
        sources = tuple(self.slot(x) for x in inputs)
        as_is = y.data is returned  # NOTE: else a NumPy scalar, turned into a 0-d array
        self.steps.append(("forward", fn, sources, params, self._output_slot(y.data), as_is))

    def _check_params(self, fn, params) -> None:
        """An op's parameters are constants of the plan: none may be an array the step got or
        computed (an index taken from a tensor would be frozen)."""
        for value in params.values():
            arrays = value if isinstance(value, tuple) else (value,)
            for array in arrays:
                if isinstance(array, np.ndarray) and (
                    id(array) in self.slot_of or id(array.base) in self.slot_of
                ):
                    self.refuse(
                        f"tl.jit: {type(fn).__name__} takes values of a tensor or argument of "
                        "the step as a constant parameter (an index array?), which a replay "
                        "would freeze; index with a Tensor op (embedding, gather by labels) "
                        "or pass the index as an argument"
                    )

    def on_convert(self, source, result, method="copy", args=(), kwargs=None) -> None:
        """`result` is source.method(*args, **kwargs): a copy (tl.tensor(x)), a dtype conversion,
        a reshape of a NumPy argument; the replay repeats it on each call's array."""
        found = self.slot_of.get(id(source))
        if found is not None:
            how = (method, tuple(args), dict(kwargs or {}))
            self.steps.append(("convert", found, how, self._output_slot(result)))

    def on_backward_untracked(self, fn, gy: Tensor, gxs, returned) -> None:
        source = self.slot(gy)  # NOTE: first: a gradient may be gy's own array, given a new slot
        targets = tuple(None if g is None else self._output_slot(g.data) for g in gxs)
        arrays = returned if isinstance(returned, tuple) else (returned,)
        as_is = all(g is None or g.data is a for g, a in zip(gxs, arrays))
        form = ("tuple" if isinstance(returned, tuple) else "array") if as_is else "convert"
        self.steps.append(("backward", fn, source, targets, form))

    def on_composed_backward(self, fn, incoming: Tensor, gy: Tensor) -> None:
        """`incoming` (the read-only gradient fn.backward receives) is gy's array; the ops that
        backward runs are recorded next, as forwards."""
        self.slot_of[id(incoming.data)] = self.slot(gy)
        self.keep_alive.append(incoming.data)
        self.backward_of = fn

    def on_composed_backward_done(self, fn) -> None:
        self.backward_of = None

    def on_set_grad(self, leaf: Tensor, g: Tensor) -> None:
        self.journal.tensor(leaf)
        index = self.argument_index.get(id(leaf))
        if index is None:
            self.steps.append(("grad", leaf, self.slot(g)))
        else:  # NOTE: to the tensor passed at each replay, not to the one captured
            self.steps.append(("argument_grad", index, self.slot(g)))

    def on_grad_written(self, leaf: Tensor) -> None:
        """The step may read leaf.grad next (w -= lr * w.grad): its array is the replay's too."""
        slot = self._output_slot(leaf.grad.data)
        index = self.argument_index.get(id(leaf))
        self.steps.append(("read_grad", leaf if index is None else index, slot))

    def on_grad_assigned(self, tensor: Tensor, value) -> None:
        self.journal.tensor(tensor)
        source = None if value is None else self.slot(value)
        index = self.argument_index.get(id(tensor))
        self.steps.append(("set_grad", tensor if index is None else index, source))

    def on_in_place(self, target: Tensor, other, update) -> None:
        self.journal.tensor(target)
        source = self.slot(other) if isinstance(other, Tensor) else ("constant", other)
        self.steps.append(("in_place", self.slot(target), source, update))

    def on_call(self, method, owner, args, kwargs) -> None:
        self.journal.owner(owner)
        for value in (*args, *kwargs.values()):
            self.journal.owner(value)
        self.steps.append(("call", method, owner, args, kwargs))

    def on_call_done(self, method, owner) -> None:
        pass

    def on_module(self, module) -> None:
        if id(module) not in self.modules:
            self.modules[id(module)] = module
            self.python.add_module(module, f"a called {type(module).__name__}")

    def on_read(self, tensor: Tensor, what: str) -> None:
        self.refuse(
            f"tl.jit: {what} of a tensor of shape {tensor.shape} inside the captured step reads "
            "its values into Python, where a replay cannot follow them (it would replay the "
            "branch, mask or number of the capture); compute with tensor ops (comparisons, "
            "tl.where, masks), or return the tensor and read it outside the step"
        )

    def on_parameter_group(self, group, key, value, write: bool) -> None:
        if write:
            self.refuse(
                f"tl.jit: the step writes param_groups[...][{key!r}], which a replay would not "
                "repeat; set hyper-parameters outside the step (a replay reads them afresh), or "
                "use a learning-rate scheduler, whose step() is replayed"
            )
        self.group_reads.append((group, key, value))

    # ---- after the call ------------------------------------------------------------------------
    def check_unchanged_data(self) -> None:
        """Refuse `t.data = ...` inside the step (a replay would not rebind it)."""
        for _, tensor, array in self.externals:
            if tensor.data is not array:
                self.refuse(
                    f"tl.jit: the step rebinds .data of a tensor of shape {array.shape}, which "
                    "a replay would not repeat; change its values in place under tl.no_grad() "
                    "(w.copy_(...)), or outside the step"
                )

    def undo(self) -> None:
        """Put back what the call changed: tensors, gradients, optimizer state, rebound data."""
        for _, tensor, array in self.externals:
            tensor.data = array
        self.journal.undo()
