"""`Jitted`: the decorated step. Each call finds the plan for its arguments and replays it, or
runs the step eagerly while a Recorder captures it; two captures that agree make a plan."""

from __future__ import annotations

import functools
import threading
import warnings

from .. import state
from ..tensor import Tensor
from .capture import Recorder, captured
from .errors import JitError
from .guards import PythonState, RandomStates, same_value
from .plan import Plan
from .trees import ResultTree, argument_key, map_arrays

# Plans kept per step (one per kind of arguments: shapes, dtypes, values of numbers), and
# captures that may fail to become a plan (a float argument that changes at every call, a global
# counter the step reads) before the step runs eagerly for good, with one warning: memory never
# grows with the number of calls.
MAX_PLANS = 16
MAX_UNFINISHED = 8
MAX_PENDING = 4


class Jitted:
    """The decorated step (see the package docstring). `captures` counts the plans made."""

    guarded_by_identity = True  # a step that names this one: its plans are not Python state

    def __init__(self, step):
        functools.update_wrapper(self, step)
        self.step = step
        self.plans: dict[tuple, list[Plan]] = {}
        self.pending: dict[tuple, tuple] = {}  # key -> (Recorder, ResultTree): the first capture
        self.captures = 0
        self.unfinished = 0
        self.eager_reason: str | None = None  # set when the step runs eagerly for good
        self.eager_keys: set = set()  # kinds of arguments whose result stays in a graph
        self._lock = threading.RLock()  # NOTE: a plan's holders are shared: one call at a time

    @property
    def source(self) -> str:
        """The Python function each plan replays, for reading: a line per op's forward, per
        backward step, per gradient written and per call replayed whole."""
        return "\n".join(plan.source for plans in self.plans.values() for plan in plans)

    def __call__(self, *args, **kwargs):
        modes = state.modes
        if (
            modes.observer is not None
            or modes.rounding_noise is not None
            or (modes.backward_hooks or self.eager_reason)
        ):
            # inside another capture (the ops join it), under tl.testing's noise, under
            # tl.trace (it prints each backward step) or given up on: eager, as written
            return self.step(*args, **kwargs)
        argument, arrays, tensors, objects = argument_key(args, kwargs)
        key = (argument, modes.grad_enabled, modes.autocast_dtype)
        with self._lock:
            if key in self.eager_keys:
                return self.step(*args, **kwargs)
            for plan in self.plans.get(key, ()):
                if plan.holds(tensors):
                    return plan.run(arrays, tensors)
            return self._capture(key, args, kwargs, arrays, tensors, objects)

    def _capture(self, key, args, kwargs, arrays, tensors, objects):
        first = self.pending.get(key)
        if first is not None and not first[0].python.holds():
            del self.pending[key]  # the Python state changed since: start again
            first = None
        python = PythonState(self.step, objects)
        recorder = Recorder(arrays, tensors, python)
        randoms = RandomStates(python.generators)
        try:
            with state.observing(recorder):
                result = self.step(*map_arrays(args, captured), **map_arrays(kwargs, captured))
            if recorder.refused is not None:  # the step caught our JitError and went on
                raise recorder.refused
            _check_after_call(recorder, python, randoms)
            tree = ResultTree(result, recorder.slot)
            if _in_a_graph(result):
                self._run_eagerly(key, "it returns a tensor whose graph is still to be "
                                  "differentiated outside the step")  # fmt: skip
                return result
            if first is not None:
                _compare(first[0], recorder)
                if not first[1].same_as(tree):
                    raise JitError("tl.jit: the step returned other values (not computed by "
                                   "ops) on its first two calls")  # fmt: skip
        except JitError:
            recorder.undo()
            python.restore()
            randoms.restore()
            raise
        if first is None:
            self._wait_for_second(key, recorder, tree)
        else:
            del self.pending[key]
            plans = self.plans.setdefault(key, [])
            plans.append(Plan(recorder, tree, python, _required_arguments(recorder, tensors)))
            self.captures += 1
            if sum(map(len, self.plans.values())) > MAX_PLANS:
                self._give_up(f"more than {MAX_PLANS} kinds of arguments")
        return result

    def _wait_for_second(self, key, recorder, tree) -> None:
        self.pending[key] = (recorder, tree)
        self.unfinished += 1
        if self.unfinished - self.captures > MAX_UNFINISHED:
            self._give_up(
                f"{self.unfinished} captures did not repeat (an argument that is a number, or "
                "Python state the step reads, differs at every call)"
            )
        while len(self.pending) > MAX_PENDING:  # NOTE: a capture holds its arrays: keep few
            del self.pending[next(iter(self.pending))]

    def _run_eagerly(self, key, why: str) -> None:
        """Calls with these kinds of arguments run the step as written, for good."""
        self.pending.pop(key, None)
        if not self.eager_keys:
            warnings.warn(f"tl.jit: {getattr(self.step, '__name__', 'the step')} runs eagerly "
                          f"for these arguments: {why}", RuntimeWarning, stacklevel=4)  # fmt: skip
        self.eager_keys.add(key)
        if len(self.eager_keys) > MAX_PLANS:
            self._give_up(f"more than {MAX_PLANS} kinds of arguments")

    def _give_up(self, why: str) -> None:
        self.eager_reason = why
        self.plans.clear()
        self.pending.clear()
        warnings.warn(
            f"tl.jit: {getattr(self.step, '__name__', 'the step')} runs eagerly from now on: "
            f"{why}", RuntimeWarning, stacklevel=3,
        )  # fmt: skip


def _in_a_graph(result) -> bool:
    """Whether a result tensor still has a graph behind it (backward not yet run): a replay,
    which returns plain tensors, could not be differentiated."""
    if isinstance(result, Tensor):
        return result.creator is not None and result.creator.inputs is not None
    if isinstance(result, dict):
        return any(map(_in_a_graph, result.values()))
    if isinstance(result, (list, tuple)):
        return any(map(_in_a_graph, result))
    if hasattr(result, "__dataclass_fields__"):
        return any(map(_in_a_graph, vars(result).values()))
    return False


def _check_after_call(recorder: Recorder, python: PythonState, randoms: RandomStates) -> None:
    """Refuse what the call did that a replay would not repeat."""
    recorder.check_unchanged_data()
    changed = python.changes()
    if changed:
        raise JitError(
            f"tl.jit: the step changes {', '.join(changed)}: Python state that a replay would "
            "not change (a replay runs no Python code of the step); return the value instead, "
            "or change it outside the step"
        )
    if randoms.moved():
        raise JitError(
            "tl.jit: the step draws random numbers (dropout in training mode, tl.rand, "
            "np.random, random): a replay would repeat the captured draws instead of drawing "
            "new ones; draw them outside the step and pass them as arguments"
        )


def _required_arguments(recorder: Recorder, tensors) -> list[tuple[int, Tensor]]:
    """Argument tensors that are also a called module's parameters or buffers: the plan reads
    them through the argument, so only that same tensor may be passed again."""
    held = {id(t) for m in recorder.modules.values()
            for _, t in m._named_state("", include_buffers=True)}  # fmt: skip
    return [(i, t) for i, t in enumerate(tensors) if t is not None and id(t) in held]


def _compare(first: Recorder, second: Recorder) -> None:
    """Raise JitError unless the two captures did the same thing with the same constants."""
    if len(first.steps) != len(second.steps):
        raise JitError(f"tl.jit: the step ran {len(first.steps)} operations on its first call "
                       f"and {len(second.steps)} on its second with the same arguments' kinds "
                       "and Python state: it depends on values the capture cannot see")  # fmt: skip
    for index, (a, b) in enumerate(zip(first.steps, second.steps)):
        if not _same_step(a, b):
            what = type(a[1]).__name__ if a[0] in ("forward", "backward") else a[0]
            raise JitError(f"tl.jit: operation {index} ({what}) differs between the first two "
                           "calls of the step (another op, other parameters or other inputs): "
                           "it depends on values the capture cannot see")  # fmt: skip
    seconds = {slot: tensor for slot, tensor, _ in second.externals}
    for slot, tensor, _ in first.externals:
        other = seconds.get(slot)
        if other is None or not (other is tensor or _same_constant(tensor, other)):
            raise JitError(
                f"tl.jit: a tensor made outside ops inside the step (slot {slot}, shape "
                f"{tensor.shape}) has other values on the second call: the step depends on data "
                "the capture cannot see (values computed in Python from the inputs)"
            )
    reads = [(id(g), k, v) for g, k, v in first.group_reads]
    if len(reads) != len(second.group_reads) or any(
        r[:2] != (id(g), k) or not _same_constant(r[2], v)
        for r, (g, k, v) in zip(reads, second.group_reads)
    ):
        raise JitError("tl.jit: the step read other hyper-parameters on its second call")


def _same_step(a, b) -> bool:
    kind = a[0]
    if kind != b[0]:
        return False
    if kind == "forward":
        return (type(a[1]) is type(b[1]) and a[2] == b[2] and a[4:] == b[4:]
                and _same_constant(a[3], b[3]))  # fmt: skip
    if kind == "backward":
        return type(a[1]) is type(b[1]) and a[2:] == b[2:]
    if kind in ("grad", "read_grad", "set_grad"):  # a Tensor, or an argument's position
        return (a[1] is b[1] or (type(a[1]) is int and a[1] == b[1])) and a[2] == b[2]
    if kind == "in_place":
        return a[1] == b[1] and _same_constant(a[2], b[2]) and _same_function(a[3], b[3])
    if kind == "call":
        return a[1] is b[1] and _same_owner(a[2], b[2]) and _same_constant(a[3:], b[3:])
    return a[1:] == b[1:]  # convert, argument_grad: slots and dtypes


def _same_constant(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        a, b = a.data, b.data
    if hasattr(a, "shape") and hasattr(a, "dtype") and hasattr(b, "shape"):
        return (type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
                and a.tobytes() == b.tobytes()) if hasattr(a, "tobytes") else False  # fmt: skip
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same_constant, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_constant(a[k], b[k]) for k in a)
    if isinstance(a, slice) and isinstance(b, slice):
        return _same_constant((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    if same_value(a, b):
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)  # a Window, a dtype
    except Exception:  # noqa: BLE001 - values that cannot be compared are different values
        return False


def _same_function(a, b) -> bool:
    """One function, or two closures of the same code over the same values (x[i] = y's)."""
    if a is b:
        return True
    code = getattr(a, "__code__", None)
    if code is None or code is not getattr(b, "__code__", None):
        return False
    cells = zip(a.__closure__ or (), b.__closure__ or ())
    return all(_same_constant(x.cell_contents, y.cell_contents) for x, y in cells)


def _same_owner(a, b) -> bool:
    """The same object, or lists of the same objects (clip_grad_norm_'s parameters)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(x is y for x, y in zip(a, b))
    return a is b
