"""Gradient-checking your own functions and layers, with a report that says where it is wrong.

    report = tl.testing.check_gradients(my_layer, x)      # inputs and every parameter
    print(report)                                         # per tensor: errors, worst elements
    report.raise_if_failed()

Checks run on a float64 copy of the layer, so the user's module is never touched. When a check
fails, the recorded graph is replayed op by op: each node's backward is checked on that node's
own inputs, and the report names the first op whose backward is wrong.

`tl.testing.strategies` (needs hypothesis) draws tensors and shapes for your own property tests;
the pytest plugin (installed with the package) gives tests a `gradcheck` fixture.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..autograd import Function, grad, no_grad, rounding_noise
from ..backend import nudge_one_ulp
from ..gradcheck import (
    Comparison,
    GradcheckError,
    _analytic,
    _comparisons,
    _outputs,
    _upstream,
    _vjp,
    random_stream,
)
from ..nn.module import Module, Parameter
from ..tensor import Tensor
from .error_model import richardson
from .parity import GPUNotAvailable, ParityReport, check_parity

HEAT = " .:-=+*#%@"  # error magnitude, low to high (log scale)


@dataclass
class TensorCheck:
    """The check of one tensor's gradient (an input or a parameter)."""

    name: str
    comparison: Comparison

    @property
    def passed(self) -> bool:
        return self.comparison.passed

    @property
    def failing(self) -> np.ndarray:
        """Boolean mask, of the gradient's shape, of the elements that fail."""
        return self.comparison.failing

    @property
    def kinks(self) -> np.ndarray:
        """Boolean mask of the elements at a kink (reported, not judged; all False with fixed
        tolerances)."""
        kinks = getattr(self.comparison, "kinks", None)
        return np.zeros(self.failing.shape, bool) if kinks is None else kinks

    def heat_map(self, width: int = 40) -> str:
        """A character picture of |analytic − numeric| for a 2-D gradient ('@' = worst; NaN and
        infinite errors show as '!')."""
        errors = self.comparison.errors
        if errors.ndim != 2 or not errors.size:
            return ""
        errors = errors[:20, :width]
        finite = np.isfinite(errors)
        scale = np.log10(np.maximum(np.where(finite, errors, 0.0), 1e-16))
        low, high = scale.min(), max(scale.max(), scale.min() + 1e-9)
        levels = np.round((scale - low) / (high - low) * (len(HEAT) - 1)).astype(int)
        rows = ["".join(HEAT[k] if ok else "!" for k, ok in zip(row, oks))
                for row, oks in zip(levels, finite)]  # fmt: skip
        return "\n".join(f"      |{row}|" for row in rows)

    def __str__(self) -> str:
        c = self.comparison
        status = "ok  " if self.passed else "FAIL"
        line = (
            f"  {status} {self.name} {c.analytic.shape}: max abs error {c.max_abs_error:.2e}, "
            f"max rel error {c.max_rel_error:.2e}"
        )
        if self.passed:
            return line
        describe = getattr(c, "describe_element", None) or (
            lambda i: f"analytic {c.analytic[i]:.6g}, numeric {c.numeric[i]:.6g}"
        )
        worst = [f"      element {i}: {describe(i)}" for i in c.worst_elements(3)]
        return "\n".join([line, *worst, self.heat_map()]).rstrip()


@dataclass
class GradientReport:
    """All checks of one call; str() gives a terminal-readable report."""

    checks: list[TensorCheck] = field(default_factory=list)
    culprit: str | None = None  # the first op whose own backward is wrong
    notes: list[str] = field(default_factory=list)  # failures that are not gradient elements
    settings: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. kinks: reported, not failures
    reproduction: str = ""  # on failure: a snippet that re-runs the check

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks) and not self.notes

    def __getitem__(self, name: str) -> TensorCheck:
        return next(c for c in self.checks if c.name == name)

    def __str__(self) -> str:
        head = "gradient check " + ("passed" if self.passed else "FAILED")
        head += " (" + ", ".join(f"{k}={v}" for k, v in self.settings.items()) + ")"
        lines = [head, *map(str, self.checks), *(f"  FAIL {note}" for note in self.notes)]
        lines += [f"  warning: {warning}" for warning in self.warnings]
        if self.culprit:
            lines.append(f"  first wrong op: {self.culprit}")
        if self.reproduction:
            lines += [
                "  reproduce with:",
                *("    " + line for line in self.reproduction.split("\n")),
            ]
        return "\n".join(lines)

    def raise_if_failed(self) -> GradientReport:
        if not self.passed:
            raise GradcheckError(str(self))
        return self


def _float64_copy(module: Module) -> Module:
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


def check_gradients(fn_or_module: Callable | Module, *inputs, params: bool = True,
                    eps: float | None = None, atol: float | None = None,
                    rtol: float | None = None, seed: int = 0, localize: bool = True,
                    second_order: bool = False, code_dtype=np.float64):  # fmt: skip
    """Check the gradients of every float input and (for a module) every parameter.

    By default each element is checked against an explicit error model (see
    `tl.testing.error_model`): a step ∛ε·(1 + |x|), Richardson extrapolation, and a bound made of
    the estimated truncation and rounding errors, all reported. Giving `atol`/`rtol` (and `eps`)
    switches to plain central differences with those fixed tolerances instead.

    Args:
        fn_or_module: a function of Tensors, or a Module (checked on a copy; yours is untouched).
        inputs: the inputs, as Tensors or arrays; integer inputs (labels) are passed through.
        params: also check the module's parameters.
        localize: on failure, replay the graph and name the first op whose backward is wrong.
        second_order: also check second derivatives through create_graph: the Hessian is
            symmetric (uᵀHv = vᵀHu), and the VJP's own derivative matches finite differences of
            the VJP (as tl.gradgradcheck), which catches backward rules that are right but not
            differentiable, e.g. built from a saved forward array.
        code_dtype: float64 (default) checks a float64 copy. float32 checks the float32 code
            itself against a float64 oracle: the analytic gradient comes from float32 arithmetic,
            the finite differences from float64, and the bound adds float32's rounding.

    Random ops (Dropout) draw the same numbers in every evaluation: the generator's state is
    recorded once and replayed, so a stochastic layer is checked as the deterministic function it
    is for one draw. Points within the step of a kink (ReLU at 0, max, abs) are reported as
    kinks, never as failures.

    Returns:
        A GradientReport (call .raise_if_failed() in tests). On failure, str(report) ends with a
        ready-to-paste reproduction.
    """
    if isinstance(fn_or_module, type) and issubclass(fn_or_module, Function):
        fn_or_module = fn_or_module.apply  # a Function subclass: check its op
    fixed = atol is not None or rtol is not None
    code_dtype = np.dtype(code_dtype)
    with replayed_random_numbers() as replay:
        run, arguments, names, restore = _float64_problem(fn_or_module, inputs, params)
        run = replay(run)
        report = GradientReport(settings=_settings(fixed, eps, atol, rtol, seed, code_dtype))
        try:
            upstream = _upstream(run, arguments, seed)
            if fixed:
                comparisons = _comparisons(run, arguments, upstream, eps or 1e-6,
                                           1e-5 if atol is None else atol,
                                           1e-3 if rtol is None else rtol)  # fmt: skip
            else:
                comparisons = _modelled(fn_or_module, inputs, params, run, arguments, upstream,
                                        code_dtype, replay)  # fmt: skip
            report.checks += [TensorCheck(names[i], c) for i, c in comparisons]
        except (RuntimeError, TypeError, ValueError) as error:
            report.notes.append(f"backward raised {type(error).__name__}: {error}")
        else:
            report.warnings += _kink_warnings(report.checks)
            report.notes += vjp_linearity(run, arguments, seed)
            if second_order:
                report.notes += hessian_symmetry(run, arguments, seed)
                report.notes += vjp_derivative(run, arguments, seed)
        restore()
        if not report.passed:
            if localize:
                report.culprit = first_wrong_op(run, arguments, seed)
            report.reproduction = reproduction(fn_or_module, inputs, seed, code_dtype)
    return report


def _settings(fixed, eps, atol, rtol, seed, code_dtype) -> dict:
    import tinygrad_lite

    if fixed:
        method = {"method": "central differences", "eps": eps or 1e-6,
                  "atol": 1e-5 if atol is None else atol,
                  "rtol": 1e-3 if rtol is None else rtol}  # fmt: skip
    else:
        method = {"method": "error model (Richardson)", "oracle": "float64"}
    return {**method, "code dtype": str(code_dtype), "seed": seed, "backend": "numpy",
            "tinygrad_lite": tinygrad_lite.__version__, "numpy": np.__version__}  # fmt: skip


def _float64_problem(fn_or_module, inputs, params: bool):
    """(run, arguments, names, restore): the check as a function of float64 tensors, the inputs
    followed by the module's parameters, on a float64 copy of the module."""
    xs = [_as_float64(x) for x in inputs]
    slots, target = [], fn_or_module
    if isinstance(fn_or_module, Module):
        target = _float64_copy(fn_or_module)
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


def _modelled(fn_or_module, inputs, params, run, arguments, upstream, code_dtype, replay):
    """(index, ModelComparison) per differentiable argument; the analytic gradient comes from the
    code in `code_dtype`, the finite differences from the float64 `run`."""
    if code_dtype == np.float64:
        analytic, code_epsilon = _analytic(run, arguments, upstream), 0.0
    else:
        code = copy.deepcopy(fn_or_module) if isinstance(fn_or_module, Module) else fn_or_module
        if isinstance(code, Module):
            code.to(dtype=code_dtype)
        run_code, code_arguments, _, restore = _float64_problem(code, inputs, params)
        restore()
        code_arguments = [Tensor(x.data.astype(code_dtype), requires_grad=x.requires_grad)
                          if x.dtype.kind == "f" else x for x in code_arguments]  # fmt: skip
        code_upstream = [u.astype(code_dtype) for u in upstream]
        analytic = _analytic(replay(run_code), code_arguments, code_upstream)
        code_epsilon = float(np.finfo(code_dtype).eps)
        spread = _rounding_spread(replay(run_code), code_arguments, code_upstream, analytic)
    results = []
    for i, x in enumerate(arguments):
        if not x.requires_grad:
            continue
        g = analytic[i].astype(np.float64)
        scale = FLOAT32_ALLOWANCE * (np.abs(g) + np.abs(g).max(initial=0.0))
        if code_epsilon:
            scale = scale + SPREAD_SAFETY * spread[i] / code_epsilon
        results.append((i, richardson(run, arguments, i, upstream, g, code_epsilon, scale)))
    return results


FLOAT32_ALLOWANCE = 64.0  # rounding of a float32 backward, in ε₃₂ · (|g| + max |g|)
SPREAD_SAFETY = 16.0  # times the spread of the gradient under one-ulp nudges of the inputs


def _rounding_spread(fn, arguments, upstream, analytic, samples: int = 6):
    """Per element, how far the low-precision gradient moves when every op's result (forward
    and backward) and every float argument is moved by one unit in the last place at random.
    NOTE: a gradient that sums terms of both signs (Σ gy·x² for Swish's β, a saturated softmax's
    backward) rounds like ε·Σ|terms|, far above ε·|result|; this Monte Carlo arithmetic exposes
    that, so cancellation is not mistaken for a wrong gradient."""
    rng = random_stream(0, "rounding spread")
    spread = [None if g is None else np.zeros(g.shape) for g in analytic]
    for _ in range(samples):
        nudged = [Tensor(nudge_one_ulp(x.data, rng), requires_grad=x.requires_grad)
                  for x in arguments]  # fmt: skip
        with rounding_noise(rng):
            gradients = _analytic(fn, nudged, upstream)
        for k, g in enumerate(gradients):
            if g is not None:
                spread[k] = np.maximum(spread[k], np.abs(g.astype(np.float64) - analytic[k]))
    return spread


def _kink_warnings(checks) -> list[str]:
    warnings = []
    for check in checks:
        kinks = getattr(check.comparison, "kinks", None)
        if kinks is not None and kinks.any():
            where = [tuple(int(k) for k in i) for i in np.argwhere(kinks)[:3]]
            warnings.append(f"{check.name}: {int(kinks.sum())} element(s) lie within the step of a "
                            f"kink (one-sided slopes differ), not judged: {where}")  # fmt: skip
    return warnings


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


def reproduction(fn_or_module, inputs, seed: int, code_dtype) -> str:
    """A snippet that re-runs this check: the target imported by name, the inputs inline."""
    target = type(fn_or_module) if isinstance(fn_or_module, Module) else fn_or_module
    module, name = getattr(target, "__module__", "?"), getattr(target, "__qualname__", "?")
    if inspect.ismethod(target) and isinstance(target.__self__, type):  # MyOp.apply
        owner = target.__self__
        module, name = owner.__module__, f"{owner.__qualname__}.{target.__name__}"
    build = f"{name}()" if isinstance(fn_or_module, Module) else name
    arrays = []
    for x in inputs:
        array = np.asarray(x.numpy() if isinstance(x, Tensor) else x)
        if array.size <= 64:
            arrays.append(f"np.array({array.tolist()!r}, dtype=np.{array.dtype})")
        else:
            arrays.append(f"np.random.default_rng({seed}).standard_normal({array.shape})"
                          f"  # {array.dtype}, {array.size} values: paste yours")  # fmt: skip
    lines = [
        "import numpy as np",
        "import tinygrad_lite as tl",
        f"from {module} import {name.split('.')[0]}",
        "",
        f"target = {build}"
        + ("  # with the same constructor arguments" if build.endswith("()") else ""),  # fmt: skip
        f"inputs = [{', '.join(arrays)}]",
        f"report = tl.testing.check_gradients(target, *inputs, seed={seed}, "
        f"code_dtype=np.{np.dtype(code_dtype)})",
        "print(report)",
    ]
    return "\n".join(lines)


def _fresh(arguments: Sequence[Tensor]) -> list[Tensor]:
    return [Tensor(x.data.copy(), requires_grad=x.requires_grad) for x in arguments]


def vjp_linearity(fn, arguments: Sequence[Tensor], seed: int = 0, rtol: float = 1e-8) -> list[str]:
    """A VJP is linear in its upstream gradient: VJP(a·u + b·v) = a·VJP(u) + b·VJP(v). A backward
    that ignores, squares or clips its incoming gradient breaks this, even where it looks right
    for one particular upstream gradient."""
    rng = random_stream(seed, "linearity")
    shapes = [y.shape for y in _outputs(fn, _fresh(arguments))]
    u = [rng.standard_normal(shape) for shape in shapes]
    v = [rng.standard_normal(shape) for shape in shapes]
    a, b = 1.7, -0.6

    def vjp(upstream):
        return [g.numpy() for g in _vjp(fn, _fresh(arguments), [Tensor(w) for w in upstream])]

    combined = vjp([a * p + b * q for p, q in zip(u, v)])
    separate = [a * p + b * q for p, q in zip(vjp(u), vjp(v))]
    problems = []
    for i, (left, right) in enumerate(zip(combined, separate)):
        scale = max(np.abs(right).max(initial=0.0), 1.0)
        if np.abs(left - right).max(initial=0.0) > rtol * scale:
            problems.append(
                f"backward is not linear in its incoming gradient (gradient {i}): VJP(a·u + b·v) "
                f"differs from a·VJP(u) + b·VJP(v) by {np.abs(left - right).max():.3g}"
            )
    return problems


def hessian_symmetry(
    fn, arguments: Sequence[Tensor], seed: int = 0, rtol: float = 1e-7
) -> list[str]:
    """uᵀHv = vᵀHu for the Hessian H of s(x) = ⟨w, fn(x)⟩ (w random), computed by differentiating
    the gradient (create_graph): mixed partial derivatives must agree."""
    rng = random_stream(seed, "hessian")
    xs = [x for x in _fresh(arguments) if x.requires_grad]
    fresh = iter(xs)
    args = [next(fresh) if x.requires_grad else x for x in arguments]
    outputs = [y for y in _outputs(fn, args) if y.requires_grad]
    if not outputs:
        return []
    weights = [Tensor(rng.standard_normal(y.shape)) for y in outputs]
    gradients = grad(outputs, xs, grad_outputs=weights, create_graph=True, allow_unused=True)
    u = [rng.standard_normal(x.shape) for x in xs]
    v = [rng.standard_normal(x.shape) for x in xs]

    def hessian_times(direction):
        pairs = [
            (g * Tensor(d)).sum()
            for g, d in zip(gradients, direction)
            if g is not None and g.requires_grad
        ]
        if not pairs:
            return [np.zeros(x.shape) for x in xs]
        found = grad([sum(pairs)], xs, retain_graph=True, allow_unused=True)
        return [np.zeros(x.shape) if h is None else h.numpy() for x, h in zip(xs, found)]

    u_hv = sum(float((p * q).sum()) for p, q in zip(u, hessian_times(v)))
    v_hu = sum(float((p * q).sum()) for p, q in zip(v, hessian_times(u)))
    if abs(u_hv - v_hu) > rtol * max(abs(u_hv), abs(v_hu), 1.0):
        return [
            f"Hessian is not symmetric: uᵀHv = {u_hv:.6g} but vᵀHu = {v_hu:.6g} (a backward rule "
            "that is right but not differentiable, e.g. one that detaches an input)"
        ]
    return []


def vjp_derivative(fn, arguments: Sequence[Tensor], seed: int = 0) -> list[str]:
    """Differentiate the VJP itself (create_graph) and compare with finite differences of it,
    as `tl.gradgradcheck` does. This catches a backward whose second derivative is wrong even
    where the Hessian stays symmetric, e.g. `gy * Tensor(1 - y**2)` built from a saved array:
    the term it drops is symmetric, but it is not zero."""
    from ..gradcheck import gradgradcheck

    try:
        gradgradcheck(fn, _fresh(arguments), seed=seed)
    except GradcheckError as error:
        return ["second derivatives (the VJP differentiated with create_graph) are wrong: "
                + str(error).removeprefix("gradcheck failed: ")]  # fmt: skip
    except (RuntimeError, TypeError, ValueError) as error:
        return [f"second derivatives: create_graph raised {type(error).__name__}: {error}"]
    return []


def first_wrong_op(fn, inputs: Sequence[Tensor], seed: int = 0) -> str | None:
    """Replay fn's recorded graph in execution order and check each node's backward on its own
    inputs with the error model (so a bug only the error model sees is still localized); return
    a description of the first node whose backward is wrong."""
    leaves = [Tensor(x.data.copy(), requires_grad=x.requires_grad) for x in inputs]
    outputs = _outputs(fn, leaves)
    nodes, seen, stack = [], set(), [y.creator for y in outputs]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(x.creator for x in node.inputs)
    for node in sorted(nodes, key=lambda n: n.seq):
        args = [Tensor(x.data.astype(np.float64) if x.dtype.kind == "f" else x.data.copy(),
                       requires_grad=needed)
                for x, needed in zip(node.inputs, node.needs_input_grad)]  # fmt: skip
        problem = _node_problem(type(node), node.params, args, seed)
        if problem:
            return f"{type(node).__name__} (tape position {node.seq}): {problem}"
    return None


def _node_problem(op, params: dict, args: list[Tensor], seed: int) -> str | None:
    def replay(*a):
        return op.apply(*a, **params)

    try:
        upstream = _upstream(replay, args, seed)
        analytic = _analytic(replay, args, upstream)
    except (RuntimeError, TypeError, ValueError) as error:
        return f"backward raised {type(error).__name__}: {error}"
    for i, x in enumerate(args):
        if x.requires_grad:
            comparison = richardson(replay, args, i, upstream, analytic[i])
            if not comparison.passed:
                worst = comparison.worst_elements(1)[0]
                return (
                    f"gradient of input {i}, element {worst}: {comparison.describe_element(worst)}"
                )
    return None


def check_module(module: Module, input_shape: Sequence[int], batch_sizes: Sequence[int] = (1, 3),
                 seed: int = 0, second_order: bool = False, batch_independence: bool = True,
                 **options) -> GradientReport:  # fmt: skip
    """check_gradients on random inputs of shape (batch, *input_shape) for each batch size, plus
    batch independence: the output of sample i must not depend on the input of sample j ≠ i.

    Args:
        second_order: also check second derivatives (see `check_gradients`).
        batch_independence: False for a layer that mixes the batch by design (BatchNorm in
            training mode): its gradients are still checked, only that part is skipped.
        options: passed to `check_gradients` (eps, atol, rtol, code_dtype, localize, params).
    """
    rng = random_stream(seed, "inputs")
    report = GradientReport(settings={"input_shape": tuple(input_shape), "seed": seed})
    for batch in batch_sizes:
        x = rng.standard_normal((batch, *input_shape))
        part = check_gradients(module, x, seed=seed, second_order=second_order, **options)
        report.checks += [
            TensorCheck(f"batch {batch}: {c.name}", c.comparison) for c in part.checks
        ]
        report.notes += part.notes
        report.culprit = report.culprit or part.culprit
        report.reproduction = report.reproduction or part.reproduction
        report.warnings += part.warnings
        report.settings.update(part.settings)
        if batch > 1 and batch_independence:
            report.notes += _batch_mixing(module, x)
    report.notes += _modes(module, rng.standard_normal((max(batch_sizes), *input_shape)))
    return report


def _modes(module: Module, x: np.ndarray) -> list[str]:
    """In eval mode the module is a deterministic function, and no_grad changes no output."""
    twin = _float64_copy(module).eval()
    first = twin(Tensor(x)).numpy()
    second = twin(Tensor(x)).numpy()
    with no_grad():
        untracked = twin(Tensor(x)).numpy()
    problems = []
    if not np.array_equal(first, second):
        problems.append("eval() is not deterministic: two calls on the same input differ by "
                        f"{np.abs(first - second).max():.3g}")  # fmt: skip
    if not np.array_equal(first, untracked):
        problems.append("the output under tl.no_grad() differs from the recorded one by "
                        f"{np.abs(first - untracked).max():.3g}")  # fmt: skip
    return problems


def _batch_mixing(module: Module, x: np.ndarray) -> list[str]:
    twin = _float64_copy(module)
    problems = []
    for i in range(len(x)):
        inputs = Tensor(x.copy(), requires_grad=True)
        y = twin(inputs)
        y[i].sum().backward()
        others = np.delete(np.abs(inputs.grad.numpy()), i, axis=0)
        if others.size and others.max() > 0:
            j = int(np.argmax(others.reshape(len(others), -1).max(axis=1)))
            j += j >= i
            problems.append(
                f"batch independence: the output of sample {i} depends on the input of sample "
                f"{j} (max |∂y[{i}]/∂x[{j}]| = {others.max():.3g})"
            )
            break
    return problems
