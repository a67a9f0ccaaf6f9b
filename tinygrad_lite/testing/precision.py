"""The analytic gradient against the error-model oracle, including the "float32 code, float64
oracle" mode, whose bound adds the rounding of the float32 backward, measured by Monte Carlo
arithmetic (see `rounding_spread`)."""

from __future__ import annotations

import copy

import numpy as np

from ..autograd import rounding_noise
from ..backend import machine_epsilon, nudge_one_ulp
from ..gradcheck import analytic_vjps, random_stream
from ..nn.module import Module
from ..tensor import Tensor
from .error_model import richardson
from .problem import float64_problem


def modelled_comparisons(fn_or_module, inputs, params, run, arguments, upstream, code_dtype,
                         replay):  # fmt: skip
    """(index, ModelComparison) per differentiable argument; the analytic gradient comes from the
    code in `code_dtype`, the finite differences from the float64 `run`."""
    if code_dtype == np.float64:
        analytic, code_epsilon = analytic_vjps(run, arguments, upstream), 0.0
    else:
        code = copy.deepcopy(fn_or_module) if isinstance(fn_or_module, Module) else fn_or_module
        if isinstance(code, Module):
            code.to(dtype=code_dtype)
        run_code, code_arguments, _, restore = float64_problem(code, inputs, params)
        restore()
        code_arguments = [Tensor(x.data.astype(code_dtype), requires_grad=x.requires_grad)
                          if x.dtype.kind == "f" else x for x in code_arguments]  # fmt: skip
        code_upstream = [u.astype(code_dtype) for u in upstream]
        analytic = analytic_vjps(replay(run_code), code_arguments, code_upstream)
        code_epsilon = machine_epsilon(code_dtype)
        spread = rounding_spread(replay(run_code), code_arguments, code_upstream, analytic)
    results = []
    for i, x in enumerate(arguments):
        if not x.requires_grad:
            continue
        g = analytic[i].astype(np.float64)
        allowance = FLOAT32_ALLOWANCE if code_dtype.itemsize >= 4 else HALF_ALLOWANCE
        scale = allowance * (np.abs(g) + np.abs(g).max(initial=0.0))
        if code_epsilon:
            safety = SPREAD_SAFETY if code_dtype.itemsize >= 4 else HALF_SPREAD_SAFETY
            scale = scale + safety * spread[i] / code_epsilon
        results.append((i, richardson(run, arguments, i, upstream, g, code_epsilon, scale)))
    return results


FLOAT32_ALLOWANCE = 64.0  # rounding of a float32 backward, in ε₃₂ · (|g| + max |g|)
# NOTE: 16-bit codes get a smaller multiple (their ε is 8000x float32's): 64 ε₁₆ would be 6%,
# hiding a 1% error; the Monte Carlo spread below covers their cancellation instead.
HALF_ALLOWANCE = 1.0
HALF_SPREAD_SAFETY = 2.0


SPREAD_SAFETY = 16.0  # times the spread of the gradient under one-ulp nudges of the inputs


def rounding_spread(fn, arguments, upstream, analytic, samples: int = 6):
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
            gradients = analytic_vjps(fn, nudged, upstream)
        for k, g in enumerate(gradients):
            if g is not None:
                spread[k] = np.maximum(spread[k], np.abs(g.astype(np.float64) - analytic[k]))
    return spread
