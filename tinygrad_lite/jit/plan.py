"""A capture ready to replay, as the source of one generated Python function (`Plan.source`):
a line per recorded step, every array a local variable `_v<slot>`. Every other name in it is
made here from a fixed prefix and the step's index (`op3_sigmoid`, `call9_step`), so no name a
user chooses (a Function class called `V`, a lambda hook) can clash or fail to parse.
"""

from __future__ import annotations

import re

import numpy as np

from .. import autograd
from ..tensor import Structure, Tensor
from .guards import PythonState, same_value

# A Function whose arrays are all smaller than this keeps them until the next replay: releasing
# costs a call (~1 µs), which the steps of tiny networks would feel, and frees nothing that matters.
RELEASE_BYTES = 1 << 16


class _Holder:
    """What an op's backward reads as `self.inputs[i]` or `self.output()`: an object with the
    array of the current replay in `.data`."""

    __slots__ = ("data",)

    def __init__(self, data=None):
        self.data = data


def _as_array(value):
    return np.asarray(value) if isinstance(value, np.generic) else value


def _as_arrays(gradients) -> tuple:
    """A backward's result (one array or a tuple, entries possibly None) as a tuple of arrays."""
    if not isinstance(gradients, tuple):
        gradients = (gradients,)
    return tuple(_as_array(g) for g in gradients)


def _release(fn) -> None:
    """Drop what `fn` saved and reads (as eager's backward does), keeping its input holders."""
    holders = fn.inputs
    fn.release()
    for holder in holders:
        holder.data = None
    fn.inputs = holders


def _identifier(text: str) -> str:
    """`text` (a class or function name, maybe '<lambda>') as a lower-case identifier tail."""
    return re.sub(r"\W", "_", text).lower()


def _variables(slots) -> str:
    """'_v0, _v3,' for slots 0 and 3: the left side of an unpacking."""
    return " ".join(f"_v{slot}," for slot in slots)


class Plan:
    """`run(arrays, tensors)` replays; `holds(tensors)` says whether the guards still hold."""

    def __init__(self, recorder, tree, python: PythonState, required_arguments):
        self.tree = tree
        self.python = python
        self.externals = [[tensor, array] for _, tensor, array in recorder.externals]
        self.leaf_flags = [(tensor, tensor._requires_grad) for tensor, _ in self.externals]
        self.group_reads = recorder.group_reads
        self.required_arguments = required_arguments  # (index, tensor): must be passed again
        self.version = Structure.version
        self._function_names: dict[int, str] = {}
        self.names: dict[str, object] = {
            "_release": _release,
            "_accumulate_grad": autograd.accumulate_grad,
            "_as_array": _as_array,
            "_as_arrays": _as_arrays,
            "_Tensor": Tensor,
        }
        lines = []
        if recorder.arguments:
            lines.append(f"{_variables(recorder.arguments)} = _arguments")
        if recorder.externals:
            lines.append(f"{_variables(slot for slot, _, _ in recorder.externals)} = _externals")
        dead_after = _dead_after(recorder.steps, tree.slots, recorder.keep_alive)
        unread = _unread(recorder.steps, tree.slots)
        for index, step in enumerate(recorder.steps):
            if step[0] == "read_grad" and step[2] in unread:
                continue  # NOTE: the step never reads this .grad: nothing to replay
            lines += getattr(self, f"_{step[0]}")(index, *step[1:])
            slots, functions = dead_after.get(index, ((), ()))
            if slots:  # NOTE: arrays freed where eager frees them, not all at the end
                lines.append(f"del {', '.join(f'_v{slot}' for slot in slots)}")
            lines += [f"_release({self._function_names[id(fn)]})" for fn in functions]
        lines.append(f"return ({_variables(tree.slots)})")
        self.source = "def replay(_arguments, _externals, _tensors):\n" + "".join(
            f"    {line}\n" for line in lines
        )
        exec(compile(self.source, "<tl.jit replay>", "exec"), self.names)  # noqa: S102
        self._replay = self.names["replay"]

    # ---- guards ----------------------------------------------------------------------------
    def holds(self, tensors) -> bool:
        """Whether a replay with these argument tensors equals the eager step: the Python state
        and hyper-parameters the step read, the tensors it reads (shape, dtype, requires_grad)."""
        for index, tensor in self.required_arguments:
            if tensors[index] is not tensor:
                return False
        for group, key, value in self.group_reads:
            if not same_value(dict.get(group, key), value):
                return False
        for entry in self.externals:
            tensor, array = entry
            data = tensor.data
            if data is not array:  # rebound (p.data = ...) since: the same kind of array?
                if (
                    type(data) is not type(array)
                    or data.shape != array.shape
                    or (data.dtype != array.dtype)
                ):
                    return False
                entry[1] = data
        if self.version != Structure.version:
            if any(t._requires_grad != flag for t, flag in self.leaf_flags):
                return False
            self.version = Structure.version
        return self.python.holds()

    # ---- one method per kind of step: the lines it replays as ----------------------------------
    def _name(self, name: str, value) -> str:
        """`name`, bound to `value` in the replay's namespace."""
        self.names[name] = value
        return name

    def _function(self, index, fn) -> str:
        """The name of the Function object `fn` in the replay's namespace."""
        if id(fn) not in self._function_names:
            name = f"op{index}_{_identifier(type(fn).__name__)}"
            self._function_names[id(fn)] = self._name(name, fn)
        return self._function_names[id(fn)]

    def _forward(self, index, fn, sources, params, target, as_is):
        op = self._function(index, fn)
        holders = [_Holder() for _ in sources]
        fn.inputs, output = holders, _Holder()  # what its backward reads
        fn._output = lambda: output
        lines = [f"{self._name(f'{op}_input{i}', h)}.data = _v{s}"
                 for i, (h, s) in enumerate(zip(holders, sources))]  # fmt: skip
        arguments = [f"_v{s}" for s in sources]
        if params:
            arguments.append(f"**{self._name(f'{op}_params', params)}")
        output_name = self._name(f"{op}_output", output)
        call = f"{op}.forward({', '.join(arguments)})"
        value = call if as_is else f"_as_array({call})"
        return [*lines, f"{output_name}.data = _v{target} = {value}"]

    def _backward(self, index, fn, source, targets, form):
        """`form`: what the backward returned on capture: a tuple of arrays, one array, or
        something to convert (NumPy scalars)."""
        op = self._function(index, fn)
        # NOTE: no read_only(gy) as eager passes: a backward that wrote into it failed on capture
        call = f"{op}.backward_untracked(_v{source})"
        names = " ".join("_," if t is None else f"_v{t}," for t in targets)
        if form == "array":
            return [f"{names.rstrip(',')} = {call}"]
        return [f"{names} = {call if form == 'tuple' else f'_as_arrays({call})'}"]

    def _convert(self, index, source, how, target):
        method, args, kwargs = how
        arguments = [f"*{self._name(f'convert{index}_args', args)}",
                     f"**{self._name(f'convert{index}_kwargs', kwargs)}"]  # fmt: skip
        return [f"_v{target} = _v{source}.{method}({', '.join(arguments)})"]

    def _grad(self, index, leaf, source):
        return [f"_accumulate_grad({self._name(f'leaf{index}', leaf)}, _v{source})"]

    def _argument_grad(self, index, argument, source):
        return [f"_accumulate_grad(_tensors[{argument}], _v{source})"]

    def _read_grad(self, index, leaf, target):
        return [f"_v{target} = {self._tensor(index, leaf)}.grad.data"]

    def _set_grad(self, index, tensor, source):
        value = "None" if source is None else f"_Tensor(_v{source})"
        return [f"{self._tensor(index, tensor)}.grad = {value}"]

    def _tensor(self, index, tensor) -> str:
        """A tensor the step names: the argument at that position, or the captured Tensor."""
        if isinstance(tensor, int):
            return f"_tensors[{tensor}]"
        return self._name(f"tensor{index}", tensor)

    def _in_place(self, index, target, source, update):
        constant = isinstance(source, tuple)
        value = self._name(f"constant{index}", source[1]) if constant else f"_v{source}"
        return [f"{self._name(f'update{index}', update)}(_v{target}, {value})"]

    def _call(self, index, method, owner, args, kwargs):
        arguments = [] if owner is None else [self._name(f"owner{index}", owner)]
        arguments += [f"*{self._name(f'args{index}', args)}",
                      f"**{self._name(f'kwargs{index}', kwargs)}"]  # fmt: skip
        name = _identifier(getattr(method, "__name__", type(method).__name__))
        return [f"{self._name(f'call{index}_{name}', method)}({', '.join(arguments)})"]

    # ---- replay ------------------------------------------------------------------------------
    def run(self, arrays, tensors):
        """Replay with these argument arrays (and Tensors); the step's result, as it returned it."""
        externals = [entry[0].data for entry in self.externals]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            outputs = self._replay(arrays, externals, tensors)
        return self.tree.build([autograd.leaf_on(a) for a in outputs])


def _unread(steps, outputs) -> set[int]:
    """The slots of gradients read back (read_grad) that no later step reads."""
    made = {step[2] for step in steps if step[0] == "read_grad"}
    for kind, *fields in steps:
        if kind == "forward":
            made -= set(fields[1])
        elif kind == "backward":
            made.discard(fields[1])
        elif kind == "convert":
            made.discard(fields[0])
        elif kind in ("grad", "argument_grad"):
            made.discard(fields[1])
        elif kind == "set_grad":
            made.discard(fields[1])
        elif kind == "in_place":
            made.discard(fields[0])
            if not isinstance(fields[1], tuple):
                made.discard(fields[1])
    return made - set(outputs)


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
        elif kind == "convert":
            slots = (fields[0], fields[2])
        elif kind in ("grad", "argument_grad", "read_grad"):
            slots = (fields[1],)
        elif kind == "set_grad":
            slots = () if fields[1] is None else (fields[1],)
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
