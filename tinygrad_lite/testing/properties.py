"""Properties every correct backward has, checked beyond the per-element comparison: a VJP is
linear in its incoming gradient, and (second order) the Hessian is symmetric and the VJP's own
derivative matches finite differences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import grad
from ..gradcheck import GradcheckError, gradgradcheck, outputs_of, random_stream, vjp
from ..tensor import Tensor
from .problem import fresh_leaves


def vjp_linearity(fn, arguments: Sequence[Tensor], seed: int = 0, rtol: float = 1e-8) -> list[str]:
    """A VJP is linear in its upstream gradient: VJP(a·u + b·v) = a·VJP(u) + b·VJP(v). A backward
    that ignores, squares or clips its incoming gradient breaks this, even where it looks right
    for one particular upstream gradient."""
    rng = random_stream(seed, "linearity")
    shapes = [y.shape for y in outputs_of(fn, fresh_leaves(arguments))]
    u = [rng.standard_normal(shape) for shape in shapes]
    v = [rng.standard_normal(shape) for shape in shapes]
    a, b = 1.7, -0.6

    def vjp_of(upstream):
        return [g.numpy() for g in vjp(fn, fresh_leaves(arguments), [Tensor(w) for w in upstream])]

    combined = vjp_of([a * p + b * q for p, q in zip(u, v)])
    separate = [a * p + b * q for p, q in zip(vjp_of(u), vjp_of(v))]
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
    xs = [x for x in fresh_leaves(arguments) if x.requires_grad]
    fresh = iter(xs)
    args = [next(fresh) if x.requires_grad else x for x in arguments]
    outputs = [y for y in outputs_of(fn, args) if y.requires_grad]
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
    try:
        gradgradcheck(fn, fresh_leaves(arguments), seed=seed)
    except GradcheckError as error:
        return ["second derivatives (the VJP differentiated with create_graph) are wrong: "
                + str(error).removeprefix("gradcheck failed: ")]  # fmt: skip
    except (RuntimeError, TypeError, ValueError) as error:
        return [f"second derivatives: create_graph raised {type(error).__name__}: {error}"]
    return []
