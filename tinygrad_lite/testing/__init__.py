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

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..autograd import grad
from ..gradcheck import Comparison, GradcheckError, _comparisons, _outputs, _upstream, _vjp
from ..nn.module import Module, Parameter
from ..tensor import Tensor
from .parity import ParityReport, check_parity

HEAT = " .:-=+*#%@"  # error magnitude, low to high (log scale)


@dataclass
class TensorCheck:
    """The check of one tensor's gradient (an input or a parameter)."""

    name: str
    comparison: Comparison

    @property
    def passed(self) -> bool:
        return self.comparison.passed

    def heat_map(self, width: int = 40) -> str:
        """A character picture of |analytic − numeric| for a 2-D gradient ('@' = worst)."""
        errors = self.comparison.errors
        if errors.ndim != 2:
            return ""
        errors = errors[:20, :width]
        scale = np.log10(np.maximum(errors, 1e-16))
        low, high = scale.min(), max(scale.max(), scale.min() + 1e-9)
        levels = np.round((scale - low) / (high - low) * (len(HEAT) - 1)).astype(int)
        rows = ["".join(HEAT[k] for k in row) for row in levels]
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
        worst = [
            f"      element {i}: analytic {c.analytic[i]:.6g}, numeric {c.numeric[i]:.6g}"
            for i in c.worst_elements(3)
        ]
        return "\n".join([line, *worst, self.heat_map()]).rstrip()


@dataclass
class GradientReport:
    """All checks of one call; str() gives a terminal-readable report."""

    checks: list[TensorCheck] = field(default_factory=list)
    culprit: str | None = None  # the first op whose own backward is wrong
    notes: list[str] = field(default_factory=list)  # failures that are not gradient elements
    settings: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks) and not self.notes

    def __getitem__(self, name: str) -> TensorCheck:
        return next(c for c in self.checks if c.name == name)

    def __str__(self) -> str:
        head = "gradient check " + ("passed" if self.passed else "FAILED")
        head += " (" + ", ".join(f"{k}={v}" for k, v in self.settings.items()) + ")"
        lines = [head, *map(str, self.checks), *(f"  FAIL {note}" for note in self.notes)]
        if self.culprit:
            lines.append(f"  first wrong op: {self.culprit}")
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
                    eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
                    localize: bool = True, second_order: bool = False):  # fmt: skip
    """Check the gradients of every float input and (for a module) every parameter in float64.

    Args:
        fn_or_module: a function of Tensors, or a Module (a float64 copy is checked).
        inputs: the inputs, as Tensors or arrays; integer inputs (labels) are passed through.
        params: also check the module's parameters.
        localize: on failure, replay the graph and name the first op whose backward is wrong.
        second_order: also check that the Hessian is symmetric (uᵀHv = vᵀHu) through
            create_graph, which catches backward rules that are right but not differentiable.

    Returns:
        A GradientReport (call .raise_if_failed() in tests). It also records whether each
        backward is linear in its incoming gradient (a backward that ignores gy fails that).
    """
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

    arguments = [*xs, *weights]
    names = [f"input {i}" for i in range(len(xs))] + [name for name, _, _ in slots]
    report = GradientReport(settings={"dtype": "float64", "eps": eps, "atol": atol, "rtol": rtol,
                                      "seed": seed})  # fmt: skip
    try:
        upstream = _upstream(run, arguments, seed)
        comparisons = _comparisons(run, arguments, upstream, eps, atol, rtol)
    except (RuntimeError, TypeError, ValueError) as error:
        report.notes.append(f"backward raised {type(error).__name__}: {error}")
        comparisons = None
    if comparisons is not None:
        report.checks += [TensorCheck(names[i], comparison) for i, comparison in comparisons]
        report.notes += vjp_linearity(run, arguments, seed)
        if second_order:
            report.notes += hessian_symmetry(run, arguments, seed)
    for (_, owner, attribute), original in zip(slots, weights):
        setattr(owner, attribute, original)
    if not report.passed and localize:
        report.culprit = first_wrong_op(run, arguments, eps, atol, rtol)
    return report


def _fresh(arguments: Sequence[Tensor]) -> list[Tensor]:
    return [Tensor(x.data.copy(), requires_grad=x.requires_grad) for x in arguments]


def vjp_linearity(fn, arguments: Sequence[Tensor], seed: int = 0, rtol: float = 1e-8) -> list[str]:
    """A VJP is linear in its upstream gradient: VJP(a·u + b·v) = a·VJP(u) + b·VJP(v). A backward
    that ignores, squares or clips its incoming gradient breaks this, even where it looks right
    for one particular upstream gradient."""
    rng = np.random.default_rng(seed + 7)
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
    rng = np.random.default_rng(seed + 11)
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


def first_wrong_op(fn, inputs: Sequence[Tensor], eps=1e-6, atol=1e-5, rtol=1e-3) -> str | None:
    """Replay fn's recorded graph in execution order and gradient-check each node on its own
    inputs; return a description of the first node whose backward is wrong."""
    from ..gradcheck import gradcheck

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
        op = type(node)
        args = [Tensor(x.data.copy(), requires_grad=needed)
                for x, needed in zip(node.inputs, node.needs_input_grad)]  # fmt: skip
        try:
            gradcheck(lambda *a, op=op, node=node: op.apply(*a, **node.params), args,
                      eps, atol, rtol, seed=node.seq)  # fmt: skip
        except GradcheckError as error:
            detail = str(error).removeprefix("gradcheck failed: ")
            return f"{op.__name__} (tape position {node.seq}): {detail}"
    return None


def check_module(module: Module, input_shape: Sequence[int], batch_sizes: Sequence[int] = (1, 3),
                 seed: int = 0, **tolerances) -> GradientReport:  # fmt: skip
    """check_gradients on random inputs of shape (batch, *input_shape) for each batch size, plus
    batch independence: the output of sample i must not depend on the input of sample j ≠ i
    (a layer that mixes samples by design, like BatchNorm in training mode, fails this part)."""
    rng = np.random.default_rng(seed)
    report = GradientReport(settings={"input_shape": tuple(input_shape), "seed": seed})
    for batch in batch_sizes:
        x = rng.standard_normal((batch, *input_shape))
        part = check_gradients(module, x, seed=seed, **tolerances)
        report.checks += [
            TensorCheck(f"batch {batch}: {c.name}", c.comparison) for c in part.checks
        ]
        report.notes += part.notes
        report.culprit = report.culprit or part.culprit
        report.settings.update(part.settings)
        if batch > 1:
            report.notes += _batch_mixing(module, x)
    return report


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
