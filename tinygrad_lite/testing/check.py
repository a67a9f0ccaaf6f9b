"""check_gradients and check_module: the checks a user points at their own function or layer."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from ..autograd import Function, no_grad
from ..gradcheck import GradcheckError, comparisons, random_stream, random_upstream
from ..nn.module import Module
from ..tensor import Tensor
from .localize import first_wrong_op
from .precision import modelled_comparisons
from .problem import float64_copy, float64_problem, replayed_random_numbers
from .properties import hessian_symmetry, vjp_derivative, vjp_linearity
from .report import GradientReport, TensorCheck, kink_warnings, reproduction


def check_gradients(fn_or_module: Callable | Module, *inputs, params: bool = True,
                    eps: float | None = None, atol: float | None = None,
                    rtol: float | None = None, seed: int = 0, localize: bool = True,
                    second_order: bool = False, code_dtype=np.float64,
                    linearity: bool = True):  # fmt: skip
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
        linearity: also check that backward is linear in its incoming gradient (to 1e-8, which
            an op computing in float32 inside does not meet; tl.gradcheck leaves it out).
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
        run, arguments, names, restore = float64_problem(fn_or_module, inputs, params)
        run = replay(run)
        report = GradientReport(settings=_settings(fixed, eps, atol, rtol, seed, code_dtype))
        try:
            upstream = random_upstream(run, arguments, seed)
            if fixed:
                found = comparisons(
                    run,
                    arguments,
                    upstream,
                    eps or 1e-6,
                    1e-5 if atol is None else atol,
                    1e-3 if rtol is None else rtol,
                )
            else:
                found = modelled_comparisons(
                    fn_or_module, inputs, params, run, arguments, upstream, code_dtype, replay
                )
            report.checks += [TensorCheck(names[i], c) for i, c in found]
        except (RuntimeError, TypeError, ValueError) as error:
            report.notes.append(f"backward raised {type(error).__name__}: {error}")
        else:
            report.warnings += kink_warnings(report.checks)
            report.notes += _properties(run, arguments, seed, second_order, linearity)
        restore()
        if not report.passed:
            if localize:
                report.culprit = first_wrong_op(run, arguments, seed)
            report.reproduction = reproduction(fn_or_module, inputs, seed, code_dtype)
    return report


def gradcheck(
    fn: Callable[..., Tensor | tuple[Tensor, ...]],
    inputs: Tensor | Sequence[Tensor],
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Compare `fn`'s analytic gradients with finite differences, for each input that requires
    grad (the others are constants), using a random upstream gradient per output.

    One engine with `check_gradients`: by default each element is judged against the error
    model's bound (a step ∛ε·(1 + |x|), Richardson extrapolation, truncation and rounding
    estimated), so a 0.1% error is caught in float64, and float32 (or 16-bit) inputs are checked
    as code in that dtype against a float64 oracle, whose rounding never fails a correct op.
    Giving `eps`, `atol` or `rtol` uses plain central differences with those tolerances instead
    (|analytic - numeric| <= atol + rtol·|numeric|), on float64 copies of the inputs.

    Returns:
        True when every checked gradient matches (False on failure with raise_exception=False).

    Raises:
        GradcheckError: with the report: each tensor's worst elements, both values, the bound,
            the first op whose backward is wrong, and a reproduction.
        ValueError: no input requires grad.

    >>> x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    >>> gradcheck(lambda t: t.sin() * t, x)
    True
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")

    @functools.wraps(fn)  # NOTE: the report's reproduction names the user's function
    def run(*xs):
        args = list(inputs)
        for i, x in zip(checked, xs):
            args[i] = x
        return fn(*args)

    code_dtype = min((inputs[i].dtype for i in checked), key=lambda dtype: dtype.itemsize)
    fixed = eps is not None or atol is not None or rtol is not None
    report = check_gradients(run, *(inputs[i] for i in checked), eps=eps, atol=atol, rtol=rtol,
                             seed=seed, code_dtype=np.float64 if fixed else code_dtype,
                             linearity=False)  # fmt: skip
    if not report.passed and raise_exception:
        raise GradcheckError(f"gradcheck failed:\n{report}")
    return report.passed


def _properties(run, arguments, seed: int, second_order: bool, linearity: bool) -> list[str]:
    """The failures of the whole-gradient properties (linearity; second order if asked)."""
    problems = vjp_linearity(run, arguments, seed) if linearity else []
    if second_order:
        problems += hessian_symmetry(run, arguments, seed) + vjp_derivative(run, arguments, seed)
    return problems


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


def check_module(module: Module, input_shape: Sequence[int],
                 batch_sizes: Sequence[int] | None = None,
                 seed: int = 0, second_order: bool = False, batch_independence: bool = True,
                 **options) -> GradientReport:  # fmt: skip
    """check_gradients on random inputs of shape (batch, *input_shape) for each batch size, plus
    batch independence: the output of sample i must not depend on the input of sample j ≠ i.

    Args:
        batch_sizes: the batch sizes to check; by default (1, 3), or (2, 3) for a layer that
            mixes the batch (batch_independence=False): BatchNorm needs two samples to train.
        second_order: also check second derivatives (see `check_gradients`).
        batch_independence: False for a layer that mixes the batch by design (BatchNorm in
            training mode): its gradients are still checked, only that part is skipped.
        options: passed to `check_gradients` (eps, atol, rtol, code_dtype, localize, params).
    """
    if batch_sizes is None:
        batch_sizes = (1, 3) if batch_independence else (2, 3)
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
    twin = float64_copy(module).eval()
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
    twin = float64_copy(module)
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
