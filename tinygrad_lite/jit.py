"""tl.jit: capture a training step once, then replay its array work without the engine.

    @tl.jit
    def step(x, labels):
        loss = nn.functional.cross_entropy(model(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

The first two calls run eagerly, as without tl.jit, while a Recorder notes everything the step
does: each op's forward (the Function object, its parameters, which arrays it read and wrote),
each backward step the engine took (the fast array path of an op, and the ops a composed backward
or a gradient sum ran), the gradients written into leaves, in-place updates (BatchNorm's running
statistics) and the calls that are replayed whole (the optimizer's step and zero_grad, a
scheduler's step). The two captures must agree, op for op and constant for constant: then the
plan is kept and later calls replay it, calling the same forward and backward code on the same
kinds of arrays in the same order, with no Tensor, no graph, no topological sort and no checks;
so a replay is bit-identical to the eager step.

What a replay cannot see, it cannot follow (a replay does not run the step's Python code, only
what was recorded and the calls replayed whole); the rules:
- Inputs are the step's arguments (Tensors or arrays, read afresh at every call) and the
  tensors the step reaches (parameters and buffers, read afresh at every call). Anything else
  the step computes outside ops is a constant, frozen at capture; one that differs between the
  two captures (dropout's random mask, values derived from the data in Python) is an error.
- Python control flow that depends on values is the user's to avoid: `.item()` (and bool(),
  float()) of a tensor computed inside the step raises; a different sequence of ops in the two
  captures raises.
- A change of the arguments' shapes, dtypes or devices, of grad mode or autocast, of any called
  module's train/eval mode or of the parameters it holds makes a new capture (guards).
- Code that reads values to decide what to do to the gradients (clip_grad_norm_) is replayed by
  calling it again: mark such a function or method `@tl.autograd.replayed_whole`. An in-place
  change of a gradient recorded op by op is refused.
"""

from __future__ import annotations

import functools

import numpy as np

from . import autograd
from .backend import get_array_module
from .nn.module import Module
from .tensor import Structure, Tensor


class JitError(RuntimeError):
    """The step cannot be captured or replayed faithfully (the message says why)."""


class _Holder:
    """What an op's backward reads as `self.inputs[i]` or `self.output()`: an object with the
    array of the current replay in `.data`."""

    __slots__ = ("data",)

    def __init__(self, data=None):
        self.data = data


def _as_array(value):
    return np.asarray(value) if isinstance(value, np.generic) else value


class Recorder:
    """Builds one capture: the slots (every array the step reads or makes gets an index) and
    the steps that fill them."""

    def __init__(self, argument_arrays):
        self.slot_of: dict[int, int] = {}
        self.keep_alive: list = []  # NOTE: ids stay unique only while the arrays live
        self.externals: list[tuple[int, Tensor]] = []  # (slot, tensor read at every replay)
        self.steps: list[tuple] = []
        self.produced: set[int] = set()  # slots made by recorded steps
        self.modules: dict[int, Module] = {}
        self.backward_of = None  # the Function whose composed backward is running
        self.grad_leaves: list[Tensor] = []
        self.arguments = [self._new_slot(a) for a in argument_arrays]

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
                raise JitError(
                    f"tl.jit: {type(self.backward_of).__name__}'s backward builds a constant from "
                    "values its forward saved, which a replay would freeze; this op has no "
                    "array fast path (backward_untracked), so steps using it cannot be captured"
                )
            found = self._new_slot(tensor.data)
            self.externals.append((found, tensor))
        return found

    def _output_slot(self, array) -> int:
        slot = self._new_slot(array)
        self.produced.add(slot)
        return slot

    # ---- what autograd, Tensor and Module report --------------------------------------------
    def on_apply(self, fn, inputs, params, y: Tensor, returned) -> None:
        """`fn.forward` returned `returned`, which became y's array."""
        sources = tuple(self.slot(x) for x in inputs)
        as_is = y.data is returned  # NOTE: else a NumPy scalar, turned into a 0-d array
        self.steps.append(("forward", fn, sources, params, self._output_slot(y.data), as_is))

    def on_backward_untracked(self, fn, gy: Tensor, gxs, returned) -> None:
        """`fn.backward_untracked` returned `returned` (an array or a tuple), which became the
        gradients `gxs`."""
        source = self.slot(gy)  # NOTE: first: a gradient may be gy's own array, given a new slot
        targets = tuple(None if g is None else self._output_slot(g.data) for g in gxs)
        arrays = returned if isinstance(returned, tuple) else (returned,)
        as_is = all(g is None or g.data is a for g, a in zip(gxs, arrays))
        form = ("tuple" if isinstance(returned, tuple) else "array") if as_is else "convert"
        self.steps.append(("backward", fn, source, targets, form))

    def alias(self, view: Tensor, original: Tensor, backward_of) -> None:
        """`view` (the read-only gradient a composed backward of `backward_of` receives) is
        the array of `original`; the ops that backward runs are recorded next."""
        self.slot_of[id(view.data)] = self.slot(original)
        self.keep_alive.append(view.data)
        self.backward_of = backward_of

    def on_set_grad(self, leaf: Tensor, g: Tensor) -> None:
        self.steps.append(("grad", leaf, self.slot(g)))
        self.grad_leaves.append(leaf)

    def on_in_place(self, target: Tensor, other, update) -> None:
        if any(target is leaf.grad for leaf in self.grad_leaves):
            raise JitError(
                "tl.jit: an in-place change of a .grad made by this step's backward cannot be "
                "replayed (each replay makes new gradients); change gradients in a function "
                "marked @tl.autograd.replayed_whole, as clip_grad_norm_ is"
            )
        source = self.slot(other) if isinstance(other, Tensor) else ("constant", other)
        self.steps.append(("in_place", self.slot(target), source, update))

    def on_call(self, method, owner, args, kwargs) -> None:
        self.steps.append(("call", method, owner, args, kwargs))

    def on_module(self, module: Module) -> None:
        self.modules[id(module)] = module

    def on_read(self, tensor: Tensor, what: str) -> None:
        if self.slot_of.get(id(tensor.data)) in self.produced:
            raise JitError(
                f"tl.jit: {what} of a tensor computed inside the captured step reads a value "
                "that a replay cannot follow (Python control flow on data); return the tensor "
                "and read it outside the step"
            )


def _same_constant(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        a, b = a.data, b.data
    if hasattr(a, "shape") and hasattr(b, "shape"):
        xp = get_array_module(a)
        return a.shape == b.shape and a.dtype == b.dtype and bool(xp.array_equal(a, b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same_constant(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_constant(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - incomparable values are different values
        return False


def _same_owner(a, b) -> bool:
    """The same object, or lists of the same objects (clip_grad_norm_'s parameters)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(x is y for x, y in zip(a, b))
    return a is b


def _compare(first: Recorder, second: Recorder) -> None:
    """Raise JitError unless the two captures did the same thing with the same constants."""
    if len(first.steps) != len(second.steps):
        raise JitError(f"tl.jit: the step ran {len(first.steps)} operations on its first call "
                       f"and {len(second.steps)} on its second: Python control flow depends on "
                       "the data, so one capture cannot stand for every call")  # fmt: skip
    externals = (dict(first.externals), dict(second.externals))
    for index, (a, b) in enumerate(zip(first.steps, second.steps)):
        kind = a[0]
        same = kind == b[0]
        if same and kind == "forward":
            same = type(a[1]) is type(b[1]) and a[2] == b[2] and a[4:] == b[4:]
            same = same and _same_constant(a[3], b[3])
        elif same and kind == "backward":
            same = type(a[1]) is type(b[1]) and a[2:] == b[2:]
        elif same and kind == "grad":
            same = a[1] is b[1] and a[2] == b[2]
        elif same and kind == "in_place":
            same = a[1] == b[1] and _same_constant(a[2], b[2])
        elif same and kind == "call":
            same = a[1] is b[1] and _same_owner(a[2], b[2])
            same = same and _same_constant((a[3], a[4]), (b[3], b[4]))
        if not same:
            what = type(a[1]).__name__ if kind in ("forward", "backward") else kind
            raise JitError(f"tl.jit: operation {index} ({what}) differs between the first two "
                           "calls of the step (another op, other parameters or other inputs): "
                           "it depends on values the capture cannot see")  # fmt: skip
    for slot, tensor in externals[0].items():
        other = externals[1].get(slot)
        if other is None or not (other is tensor or _same_constant(tensor, other)):
            raise JitError(
                f"tl.jit: a tensor made outside ops inside the step (slot {slot}, shape "
                f"{tensor.shape}) has other values on the second call: the step depends on data "
                "the capture cannot see (random numbers such as dropout's, or values computed "
                "in Python from the inputs)"
            )


class Plan:
    """A capture ready to replay, as the source of one Python function (`source`): a line per
    recorded step, every array a local variable v<slot>. `run(argument arrays)` calls it and
    returns the step's result. Printing `source` shows exactly what a replay does."""

    def __init__(self, recorder: Recorder, outputs, structure):
        self.externals = [tensor for _, tensor in recorder.externals]
        self.structure = structure  # tuple/list type of the result, or None
        self._function_names: dict[int, str] = {}
        self.names: dict[str, object] = {
            "release": _release,
            "Tensor": Tensor,
            "accumulate_grad": autograd.accumulate_grad,
            "_as_array": _as_array,
            "_as_arrays": _as_arrays,
        }
        lines = []
        if recorder.arguments:
            lines.append(f"{_variables(recorder.arguments)} = arguments")
        if recorder.externals:
            lines.append(f"{_variables(slot for slot, _ in recorder.externals)} = externals")
        dead_after = _dead_after(recorder.steps, outputs, recorder.keep_alive)
        for index, step in enumerate(recorder.steps):
            lines += getattr(self, f"_{step[0]}")(index, *step[1:])
            slots, functions = dead_after.get(index, ((), ()))
            if slots:  # NOTE: arrays freed where eager frees them, not all at the end
                lines.append(f"del {', '.join(f'v{slot}' for slot in slots)}")
            lines += [f"release({self._function_names[id(fn)]})" for fn in functions]
        lines.append(f"return ({_variables(outputs)})")
        self.source = "def replay(arguments, externals):\n" + "".join(
            f"    {line}\n" for line in lines
        )
        exec(compile(self.source, "<tl.jit replay>", "exec"), self.names)  # noqa: S102
        self._replay = self.names["replay"]

    def _name(self, name: str, value) -> str:
        """`name`, bound to `value` in the replay's namespace."""
        self.names[name] = value
        return name

    def _function(self, index, fn) -> str:
        """The name of the Function object `fn` in the replay's namespace."""
        if id(fn) not in self._function_names:
            self._function_names[id(fn)] = self._name(f"{type(fn).__name__.lower()}{index}", fn)
        return self._function_names[id(fn)]

    def _forward(self, index, fn, sources, params, target, as_is):
        op = self._function(index, fn)
        holders = [_Holder() for _ in sources]
        fn.inputs, output = holders, _Holder()  # what its backward reads
        fn._output = lambda: output
        lines = [f"{self._name(f'{op}_input{i}', h)}.data = v{s}"
                 for i, (h, s) in enumerate(zip(holders, sources))]  # fmt: skip
        arguments = [f"v{s}" for s in sources]
        if params:
            arguments.append(f"**{self._name(f'{op}_params', params)}")
        output_name = self._name(f"{op}_output", output)
        call = f"{op}.forward({', '.join(arguments)})"
        lines.append(f"{output_name}.data = v{target} = {call if as_is else f'_as_array({call})'}")
        return lines

    def _backward(self, index, fn, source, targets, form):
        """`form`: what the backward returned on capture: a tuple of arrays, one array, or
        something to convert (NumPy scalars)."""
        op = self._function(index, fn)
        # NOTE: no read_only(gy) as eager passes: a backward that wrote into it failed on capture
        call = f"{op}.backward_untracked(v{source})"
        names = " ".join("_," if t is None else f"v{t}," for t in targets)
        if form == "array":
            return [f"{names.rstrip(',')} = {call}"]
        return [f"{names} = {call if form == 'tuple' else f'_as_arrays({call})'}"]

    def _grad(self, index, leaf, source):
        return [f"accumulate_grad({self._name(f'leaf{index}', leaf)}, v{source})"]

    def _in_place(self, index, target, source, update):
        constant = isinstance(source, tuple)
        value = self._name(f"constant{index}", source[1]) if constant else f"v{source}"
        return [f"{self._name(f'update{index}', update)}(v{target}, {value})"]

    def _call(self, index, method, owner, args, kwargs):
        arguments = [] if owner is None else [self._name(f"owner{index}", owner)]
        arguments += [f"*{self._name(f'args{index}', args)}",
                      f"**{self._name(f'kwargs{index}', kwargs)}"]  # fmt: skip
        return [f"{self._name(f'{method.__name__}{index}', method)}({', '.join(arguments)})"]

    def run(self, arrays):
        """Replay with these argument arrays; the step's result, as the step returned it."""
        externals = [tensor.data for tensor in self.externals]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            outputs = self._replay(arrays, externals)
        tensors = [Tensor(array) for array in outputs]
        if self.structure is not None:
            return self.structure(tensors)
        return tensors[0] if tensors else None


# A Function whose arrays are all smaller than this keeps them until the next replay: releasing
# costs a call (~1 µs), which the steps of tiny networks would feel, and frees nothing that matters.
RELEASE_BYTES = 1 << 16


def _dead_after(steps, outputs, arrays) -> dict[int, tuple[list, list]]:
    """step index -> (the slots no later step reads, the Functions no later step calls): the
    liveness of the replay's arrays (`arrays`: the captured ones, by slot). A slot dies after its
    last reader (or its writer, if none reads it), unless the step returns it; a Function's
    saved arrays die after its backward, or after its forward when no backward runs."""
    last_use: dict[int, int] = {}
    last_call: dict[int, tuple[int, object]] = {}
    for index, (kind, *fields) in enumerate(steps):
        if kind == "forward":
            slots = (*fields[1], fields[3])  # sources and target
            if max(getattr(arrays[slot], "nbytes", 0) for slot in slots) >= RELEASE_BYTES:
                last_call[id(fields[0])] = (index, fields[0])
        elif kind == "backward":
            slots = (fields[1], *(t for t in fields[2] if t is not None))
            if id(fields[0]) in last_call:
                last_call[id(fields[0])] = (index, fields[0])
        elif kind == "grad":
            slots = (fields[1],)
        elif kind == "in_place":
            slots = (fields[0],) if isinstance(fields[1], tuple) else (fields[0], fields[1])
        else:  # a call replayed whole reads tensors, not slots
            slots = ()
        for slot in slots:
            last_use[slot] = index
    dead: dict[int, tuple[list, list]] = {}
    for slot, index in last_use.items():
        if slot not in outputs:
            dead.setdefault(index, ([], []))[0].append(slot)
    for index, fn in last_call.values():
        dead.setdefault(index, ([], []))[1].append(fn)
    return dead


def _release(fn) -> None:
    """Drop what `fn` saved and reads (as eager's backward does), keeping its input holders."""
    holders = fn.inputs
    fn.release()
    for holder in holders:
        holder.data = None
    fn.inputs = holders


def _variables(slots) -> str:
    """'v0, v3,' for slots 0 and 3: the left side of an unpacking."""
    return " ".join(f"v{slot}," for slot in slots)


def _as_arrays(gradients) -> tuple:
    """A backward's result (one array or a tuple, entries possibly None) as a tuple of arrays."""
    if not isinstance(gradients, tuple):
        gradients = (gradients,)
    return tuple(_as_array(g) for g in gradients)


def _arguments(args, kwargs) -> tuple[tuple, list]:
    """(the guard key of the step's arguments, their arrays in order): arrays and Tensors by
    shape, dtype, array type and requires_grad; numbers and strings by value; anything else
    by identity."""
    key, arrays = [], []
    for value in (*args, *kwargs.values()):
        data = value.data if isinstance(value, Tensor) else value
        if hasattr(data, "shape") and hasattr(data, "dtype"):
            requires = isinstance(value, Tensor) and value.requires_grad
            key.append(("array", data.shape, data.dtype, type(data), requires))
            arrays.append(data)
        elif isinstance(value, (int, float, str, bool, type(None))):
            key.append(("value", value))
        else:
            key.append(("object", id(value)))
    return tuple(key), arrays


def _outermost(modules: list) -> list:
    """The modules that no other one of `modules` contains (the model, not its layers)."""
    inner = {id(sub) for m in modules for sub in list(m.modules())[1:]}
    return [m for m in modules if id(m) not in inner]


def _module_key(modules, roots) -> tuple:
    """Each called module's train/eval mode, and which parameters the outermost ones hold and
    whether each requires grad."""
    parameters = [p for root in roots for p in root.parameters()]
    return tuple(m.training for m in modules), tuple((id(p), p.requires_grad) for p in parameters)


class Jitted:
    """The decorated step (see the module docstring). `captures` counts the plans made."""

    def __init__(self, step):
        functools.update_wrapper(self, step)
        self.step = step
        # guard key -> (structure version, modules, outermost modules, module key, Plan)
        self.plans: dict[tuple, tuple] = {}
        self.pending: dict[tuple, Recorder] = {}  # first capture, waiting for the second
        self.captures = 0

    @property
    def source(self) -> str:
        """The Python function each capture replays, for reading: a line per op's forward, per
        backward step, per gradient written and per call replayed whole."""
        return "\n".join(entry[-1].source for entry in self.plans.values())

    def __call__(self, *args, **kwargs):
        argument_key, arrays = _arguments(args, kwargs)
        key = (argument_key, autograd._state.grad_enabled, autograd._state.autocast_dtype)
        entry = self.plans.get(key)
        if entry is not None:
            version, modules, roots, module_key, plan = entry
            if version != Structure.version:  # some module changed: are ours the same?
                if _module_key(modules, roots) != module_key:
                    del self.plans[key]  # a mode or a parameter set changed: capture again
                    return self._capture(key, arrays, args, kwargs)
                self.plans[key] = (Structure.version, modules, roots, module_key, plan)
            return plan.run(arrays)
        return self._capture(key, arrays, args, kwargs)

    def _capture(self, key, arrays, args, kwargs):
        if autograd._state.recorder is not None:
            raise JitError("tl.jit: a jitted step cannot call another jitted step")
        recorder = Recorder(arrays)
        autograd._state.recorder = recorder
        try:
            result = self.step(*args, **kwargs)
        finally:
            autograd._state.recorder = None
        outputs = _output_slots(recorder, result)
        first = self.pending.pop(key, None)
        if first is None:
            self.pending[key] = recorder
        else:
            _compare(first, recorder)
            modules = list(recorder.modules.values())
            roots = _outermost(modules)
            structure = type(result) if isinstance(result, (tuple, list)) else None
            plan = Plan(recorder, outputs, structure)
            self.plans[key] = (Structure.version, modules, roots, _module_key(modules, roots),
                               plan)  # fmt: skip
            self.captures += 1
        return result


def _output_slots(recorder: Recorder, result) -> list[int]:
    """The slots of the tensors the step returned (None, a Tensor, or a tuple/list of them)."""
    if result is None:
        return []
    slots = []
    for value in result if isinstance(result, (tuple, list)) else (result,):
        slot = recorder.slot_of.get(id(getattr(value, "data", None)))
        if not isinstance(value, Tensor) or slot is None:
            raise JitError("tl.jit: the step must return None, a Tensor it computed, or a "
                           "tuple of them")  # fmt: skip
        slots.append(slot)
    return slots


def jit(step):
    """Capture `step` on its first two calls and replay it afterwards (see tl.jit's docs)."""
    return Jitted(step)
