"""Check analytic gradients against central finite differences.

The check compares vector-Jacobian products: for a random upstream gradient v (one per output,
normal entries, both signs), the analytic vᵀJ from backward must match, element by element,
    (⟨v, f(x + h eᵢ)⟩ - ⟨v, f(x - h eᵢ)⟩) / 2h.
Back-propagating ones from f(x).sum() instead would let real bugs pass: a softmax backward that
returns zeros is right for v = 1 (softmax sums to a constant), and so is a backward that ignores
its incoming gradient.

The primitives of every check: `tl.gradcheck` (tinygrad_lite/testing/check.py: the error model
of tl.testing by default, these fixed-tolerance comparisons when tolerances are given) and
`gradgradcheck` below build on `outputs_of`, `vjp`, `analytic_vjps`, `random_upstream`,
`random_stream`, `comparisons`, `Comparison` and `AnalyticVsNumeric`.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .autograd import grad
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """An analytic gradient disagrees with the finite-difference one (the message says where)."""


def _as_tuple(values) -> tuple:
    return tuple(values) if isinstance(values, (tuple, list)) else (values,)


def outputs_of(fn: Callable, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
    outputs = _as_tuple(fn(*inputs))
    if not all(isinstance(y, Tensor) for y in outputs):
        raise TypeError("gradcheck: fn must return a Tensor or a tuple of Tensors")
    return outputs


def _warn_if_imprecise(inputs: Sequence[Tensor], name: str) -> None:
    for i, x in enumerate(inputs):
        if x.requires_grad and x.dtype.itemsize < 8:
            warnings.warn(
                f"{name}: input {i} is {x.dtype}; finite differences are only reliable in float64, "
                "so expect spurious failures (cast with .astype(np.float64))",
                stacklevel=3,
            )


def random_stream(seed: int, purpose: str) -> np.random.Generator:
    """An independent generator per purpose ('inputs', 'upstream', ...) of one seed. NOTE: were
    the input and the upstream gradient drawn from one stream, a batch-1 input would equal its
    upstream gradient, and a transposed weight gradient (x xᵀ is symmetric) would pass."""
    return np.random.default_rng([seed, zlib.crc32(purpose.encode())])


def vjp(fn, xs, vs, create_graph: bool = False) -> list[Tensor]:
    """vᵀJ of fn at xs for each x that requires grad; zeros where the outputs do not depend on x."""
    pairs = [(y, v) for y, v in zip(outputs_of(fn, xs), vs) if y.requires_grad]
    wanted = [x for x in xs if x.requires_grad]
    if pairs:
        ys, vs = zip(*pairs)
        grads = grad(ys, wanted, grad_outputs=vs, create_graph=create_graph, allow_unused=True)
    else:
        grads = [None] * len(wanted)
    return [Tensor(x.xp.zeros(x.shape, x.dtype)) if g is None else g for x, g in zip(wanted, grads)]


def analytic_vjps(fn, inputs, upstream) -> list[np.ndarray | None]:
    """vᵀJ for each input that requires grad (None for the others), on fresh input copies and
    a copy of each upstream gradient, so a backward that writes into its incoming gradient can
    neither change the checker's own vector nor go unnoticed."""
    leaves = [Tensor(x.data.copy(), requires_grad=x.requires_grad) for x in inputs]
    device = inputs[0].device  # NOTE: upstream gradients live where the outputs do
    given = [Tensor(np.array(v, copy=True), device=device) for v in upstream]
    grads = iter(vjp(fn, leaves, given))
    for v, g in zip(upstream, given):
        if not np.array_equal(g.numpy(), v):
            raise RuntimeError(
                "backward modified its incoming gradient in place; compute a new tensor instead "
                "(gy * 3, not gy *= 3 or np.clip(gy.data, ..., out=gy.data))"
            )
    return [next(grads).numpy() if x.requires_grad else None for x in leaves]


def _numeric(fn, inputs, i: int, upstream, eps: float) -> np.ndarray:
    """Central differences of ⟨v, f(x)⟩ with respect to each element of input i."""
    probe = inputs[i].data.copy()
    args = list(inputs)
    result = np.zeros(probe.shape, dtype=probe.dtype)

    def projected() -> float:
        args[i] = Tensor(probe, requires_grad=inputs[i].requires_grad)
        outputs = outputs_of(fn, args)
        return sum(float((y.numpy() * v).sum()) for y, v in zip(outputs, upstream))

    for index in np.ndindex(probe.shape):
        original = probe[index]
        probe[index] = original + eps
        above = projected()
        probe[index] = original - eps
        below = projected()
        probe[index] = original
        result[index] = (above - below) / (2 * eps)
    return result


class AnalyticVsNumeric:
    """The error measures every comparison of an analytic gradient with a numeric one reports;
    subclasses hold `analytic` and `numeric` and say which elements fail (`failing`)."""

    analytic: np.ndarray
    numeric: np.ndarray

    @property
    def errors(self) -> np.ndarray:
        return np.abs(self.analytic - self.numeric)

    @property
    def max_abs_error(self) -> float:
        return float(np.max(self.errors)) if self.errors.size else 0.0  # NaN shows as nan

    @property
    def rel_errors(self) -> np.ndarray:
        """|analytic − numeric| / max(|analytic|, |numeric|) per element: 0 when both are 0, at
        most 2, and meaningful near zero (dividing by |numeric| alone gives 1e+291 there)."""
        scale = np.maximum(np.abs(self.analytic), np.abs(self.numeric))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(scale > 0, self.errors / scale, 0.0)

    @property
    def max_rel_error(self) -> float:
        return float(np.max(self.rel_errors)) if self.errors.size else 0.0

    @property
    def passed(self) -> bool:
        return not self.failing.any()


@dataclass(frozen=True)
class Comparison(AnalyticVsNumeric):
    """An analytic gradient against the finite-difference one: an element passes when
    |analytic - numeric| <= atol + rtol·|numeric| (and the analytic value is finite)."""

    analytic: np.ndarray
    numeric: np.ndarray
    atol: float
    rtol: float

    @property
    def failing(self) -> np.ndarray:
        """Boolean mask of the elements outside the tolerance."""
        excess = self.errors - (self.atol + self.rtol * np.abs(self.numeric))
        return (excess > 0) | ~np.isfinite(self.analytic) | np.isnan(excess)

    def worst_elements(self, count: int = 3) -> list[tuple[int, ...]]:
        """Indices of the elements furthest outside the tolerance, worst first."""
        excess = self.errors - (self.atol + self.rtol * np.abs(self.numeric))
        excess = np.where(np.isfinite(excess) & np.isfinite(self.analytic), excess, np.inf)
        order = np.argsort(-excess, axis=None, kind="stable")[:count]
        return [tuple(int(k) for k in np.unravel_index(j, excess.shape)) for j in order]

    def describe(self, what: str) -> str:
        worst = self.worst_elements(1)[0]
        return (
            f"gradient of {what} is wrong: at element {worst} the analytic gradient is "
            f"{self.analytic[worst]:.6g} but finite differences give {self.numeric[worst]:.6g}. "
            f"{int(self.failing.sum())} of {self.analytic.size} elements are outside "
            f"atol={self.atol:g} + rtol={self.rtol:g}·|numeric|; max abs error "
            f"{self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g}."
        )


def random_upstream(fn, inputs, seed: int) -> list[np.ndarray]:
    """One seeded random upstream gradient per output (both signs: nothing cancels as with 1s)."""
    rng = random_stream(seed, "upstream")
    return [rng.standard_normal(y.shape).astype(y.dtype) for y in outputs_of(fn, inputs)]


def comparisons(fn, inputs, upstream, eps, atol, rtol):
    """(index, Comparison) for each input that requires grad. Backward runs now (its errors reach
    the caller); the finite differences run lazily, so a caller can stop at the first failure."""
    analytic = analytic_vjps(fn, inputs, upstream)
    return (
        (i, Comparison(analytic[i], _numeric(fn, inputs, i, upstream, eps), atol, rtol))
        for i, x in enumerate(inputs)
        if x.requires_grad
    )


def _check(fn, inputs, eps, atol, rtol, raise_exception, seed) -> bool:
    if not any(x.requires_grad for x in inputs):
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NOTE: the report shows the inf/nan itself
        upstream = random_upstream(fn, inputs, seed)
        try:
            found = comparisons(fn, inputs, upstream, eps, atol, rtol)
        except (RuntimeError, TypeError, ValueError) as error:
            return _fail(f"backward raised {type(error).__name__}: {error}", raise_exception, error)
        for i, comparison in found:
            if not comparison.passed:
                what = f"input {i} (shape {inputs[i].shape}, {inputs[i].dtype})"
                return _fail(comparison.describe(what), raise_exception)
    return True


def gradient_errors(fn, inputs, eps: float = 1e-6, seed: int = 0) -> list[np.ndarray]:
    """|analytic − numeric| of vᵀJ, element by element, for each input that requires grad (the
    numbers gradcheck judges; tl.plot.gradcheck_histogram draws them)."""
    inputs = _as_tuple(inputs)
    upstream = random_upstream(fn, inputs, seed)
    return [c.errors for _, c in comparisons(fn, inputs, upstream, eps, atol=0.0, rtol=0.0)]


def _fail(message: str, raise_exception: bool, cause: Exception | None = None) -> bool:
    if raise_exception:
        raise GradcheckError(f"gradcheck failed: {message}") from cause
    return False


def gradgradcheck(
    fn: Callable[..., Tensor | tuple[Tensor, ...]],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: gradcheck the map (x, v) -> vᵀJ(x), whose backward runs through
    the backward graph recorded with create_graph=True. Arguments as in `gradcheck`.
    """
    inputs = _as_tuple(inputs)
    _warn_if_imprecise(inputs, "gradgradcheck")
    rng = random_stream(seed, "second upstream")
    outputs = outputs_of(fn, inputs)
    upstream = [
        Tensor(rng.standard_normal(y.shape).astype(y.dtype), requires_grad=True) for y in outputs
    ]

    def first_derivative(*args):
        xs, vs = args[: len(inputs)], args[len(inputs) :]
        return tuple(vjp(fn, xs, vs, create_graph=True))

    return _check(first_derivative, (*inputs, *upstream), eps, atol, rtol, raise_exception, seed)
