"""Finite differences with an explicit error model, so a check passes or fails against a bound
derived from the arithmetic instead of a hand-tuned tolerance.

For φ(x) = ⟨v, f(x)⟩ and one element x_j, the central difference with step h,

    D(h) = (φ(x + h e_j) − φ(x − h e_j)) / 2h,

has two errors:
- truncation, c·h² (from the third derivative). D(h) and D(h/2) differ by ¾ c h², so Richardson's
  R = (4 D(h/2) − D(h)) / 3 cancels the h² term, and |D(h) − D(h/2)| estimates what is left;
- rounding: φ is computed with relative error about ε (the dtype's machine epsilon) times
  Σ|v ⊙ f(x)|, and the difference quotient divides that by h; R's weights add up to about 2·ε·S/h.

The step h_j = ∛ε · (1 + |x_j|) balances the two (h² against ε/h), relative to each element's
magnitude. An element passes when |analytic − R| ≤ safety · (truncation + rounding) plus, in the
"float32 code, float64 oracle" mode, the rounding that float32 arithmetic adds to the analytic
gradient. Both terms are reported, so a failure says whether the step or the arithmetic is to
blame. A kink (ReLU's 0, max, abs) is told apart from a wrong gradient: there the jump between the
one-sided slopes stays the same when the step halves, where for a smooth φ it halves too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..gradcheck import AnalyticVsNumeric
from ..tensor import Tensor

SAFETY = 10.0  # NOTE: the estimates are of the error's size, not strict bounds
# NOTE: the rounding estimate scales with the output's size; a function that cancels inside
# (gelu's 1 + erf(x/√2) at x = -3.5) rounds more than that. An error below this fraction of the
# value always passes: far below any bug the checkers are for (a backward 0.1% wrong fails).
RELATIVE_FLOOR = 1e-7


@dataclass
class ModelComparison(AnalyticVsNumeric):
    """Per element of one tensor: analytic gradient, Richardson estimate, and the error terms."""

    analytic: np.ndarray
    numeric: np.ndarray  # Richardson-extrapolated central difference
    truncation: np.ndarray
    rounding: np.ndarray
    analytic_rounding: np.ndarray  # float32 code: the rounding the code itself may make
    kinks: np.ndarray  # boolean: one-sided slopes disagree (a non-differentiable point)

    @property
    def bound(self) -> np.ndarray:
        modelled = SAFETY * (self.truncation + self.rounding) + self.analytic_rounding
        size = np.maximum(np.abs(self.analytic), np.abs(self.numeric))
        return np.maximum(modelled, RELATIVE_FLOOR * size)

    @property
    def failing(self) -> np.ndarray:
        bad = ~(self.errors <= self.bound) | ~np.isfinite(self.analytic)
        return bad & ~self.kinks

    def worst_elements(self, count: int = 3) -> list[tuple[int, ...]]:
        excess = np.where(np.isfinite(self.errors), self.errors - self.bound, np.inf)
        excess = np.where(self.kinks, -np.inf, excess)
        order = np.argsort(-excess, axis=None, kind="stable")[:count]
        return [tuple(int(k) for k in np.unravel_index(j, excess.shape)) for j in order]

    def describe_element(self, index) -> str:
        return (f"analytic {self.analytic[index]:.9g}, numeric {self.numeric[index]:.9g}, "
                f"error {self.errors[index]:.2e} > bound {self.bound[index]:.2e} "
                f"(truncation {self.truncation[index]:.1e}, rounding {self.rounding[index]:.1e}"
                f", float32 code {self.analytic_rounding[index]:.1e})")  # fmt: skip


def _projection(fn, arguments, i, upstream):
    """φ(x_i) = ⟨v, f(...)⟩ and S = Σ|v ⊙ f| as functions of the array of argument i."""
    from ..gradcheck import outputs_of

    def phi(array) -> tuple[float, float]:
        args = list(arguments)
        args[i] = Tensor(array, requires_grad=arguments[i].requires_grad)
        outputs = outputs_of(fn, args)
        value = sum(float((y.numpy() * v).sum()) for y, v in zip(outputs, upstream))
        scale = sum(float(np.abs(y.numpy() * v).sum()) for y, v in zip(outputs, upstream))
        return value, scale

    return phi


def richardson(fn, arguments, i: int, upstream, analytic: np.ndarray,
               analytic_epsilon: float = 0.0, analytic_scale: np.ndarray | None = None
               ) -> ModelComparison:  # fmt: skip
    """The error-model comparison of argument i's analytic gradient (see the module docstring).

    analytic_epsilon: the machine epsilon of the code that computed `analytic` when it is coarser
    than the oracle's (float32 code: 2⁻²³), with `analytic_scale` the magnitude its rounding
    scales with; 0 when the analytic gradient was computed in the oracle's dtype.
    """
    probe = arguments[i].data.astype(np.float64, copy=True)
    eps = np.finfo(probe.dtype).eps
    phi = _projection(fn, arguments, i, upstream)
    shape = probe.shape
    numeric, truncation, rounding = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    kinks = np.zeros(shape, dtype=bool)
    for index in np.ndindex(shape):
        x = probe[index]
        h = np.cbrt(eps) * (1 + abs(x))
        values = {}
        for step in (-h, -h / 2, 0.0, h / 2, h):
            probe[index] = x + step
            values[step] = phi(probe)
        probe[index] = x
        d_h = (values[h][0] - values[-h][0]) / (2 * h)
        d_half = (values[h / 2][0] - values[-h / 2][0]) / h
        numeric[index] = (4 * d_half - d_h) / 3
        truncation[index] = abs(d_h - d_half) / 3
        scale = max(s for _, s in values.values())
        rounding[index] = 2 * eps * scale / h
        # A kink within h/2 of x: the one-sided slopes jump by a fixed amount at both steps, where
        # for a smooth φ the jump is φ''·step and halves with the step.
        jump = (values[h][0] - 2 * values[0.0][0] + values[-h][0]) / h
        jump_half = (values[h / 2][0] - 2 * values[0.0][0] + values[-h / 2][0]) / (h / 2)
        kinks[index] = abs(jump_half) > max(0.75 * abs(jump), SAFETY * 4 * rounding[index])
    analytic_rounding = (
        np.zeros(shape) if analytic_scale is None else analytic_epsilon * analytic_scale
    )
    return ModelComparison(analytic.astype(np.float64), numeric, truncation, rounding,
                           analytic_rounding, kinks)  # fmt: skip
