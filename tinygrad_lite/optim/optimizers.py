"""SGD, Adam, AdamW, RMSprop and Adagrad, with PyTorch's arguments, defaults and arithmetic.

Each `update` is the textbook rule for one parameter p with gradient g, written on arrays in
place; `state` holds that parameter's running quantities. Derivations: docs/derivations/optim.md
On the GPU, SGD, Adam/AdamW and RMSprop update each parameter and its state in one launch of our
kernels (kernels/optim.cu), with the same arithmetic in the same order.
"""

from __future__ import annotations

import math

from ..backend import get_array_module
from ..cuda import optim as gpu
from ..cuda.launch import supported
from .optimizer import Optimizer


def _fusable(p, g) -> bool:
    """Our fused kernel can update p in place: both on the GPU, p contiguous, and a (parameter,
    gradient) dtype pair it is compiled for (float32/64 with the same, or float32 master weights
    with a float16/bfloat16 gradient)."""
    # NOTE: supported() first: it is False at once for NumPy arrays, and dtype.name is slow
    return supported(p, g) and p.flags.c_contiguous and (p.dtype.name, g.dtype.name) in gpu.PAIRS


def _weight_decayed(p, g, weight_decay: float):
    """g + λ·p: the gradient of loss + (λ/2)‖p‖² (L2 regularization inside the gradient)."""
    return g + weight_decay * p if weight_decay else g


class SGD(Optimizer):
    """p ← p − lr·d, with d = g (+ momentum buffer b ← μ·b + (1 − dampening)·g;
    d = b, or g + μ·b with Nesterov)."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):  # fmt: skip
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))  # fmt: skip

    def update(self, p, g, state, group):
        momentum = group["momentum"]
        if _fusable(p, g):
            first_step = momentum and "momentum_buffer" not in state
            if first_step:
                state["momentum_buffer"] = get_array_module(p).empty_like(p)
            gpu.sgd_update(p, g, state.get("momentum_buffer"), group["lr"], momentum,
                             group["dampening"], group["weight_decay"], group["nesterov"],
                             first_step)  # fmt: skip
            return
        g = _weight_decayed(p, g, group["weight_decay"])
        if momentum:
            if "momentum_buffer" not in state:
                # NOTE: xp.array, not g.copy(): for 0-d parameters g is a NumPy scalar, and the
                # in-place updates below must change the stored buffer
                state["momentum_buffer"] = get_array_module(p).array(g, dtype=p.dtype)
            else:
                b = state["momentum_buffer"]
                b *= momentum
                b += (1 - group["dampening"]) * g
            b = state["momentum_buffer"]
            g = g + momentum * b if group["nesterov"] else b
        p -= group["lr"] * g


class Adam(Optimizer):
    """m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,  p ← p − lr·m̂ / (√v̂ + ε), where the hats
    undo the bias toward 0 of averages started at 0: m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ).
    weight_decay adds λp to g (L2, scaled by √v̂ like the rest: see AdamW); amsgrad uses the
    running maximum of v."""

    decoupled_weight_decay = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):  # fmt: skip
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))  # fmt: skip

    def update(self, p, g, state, group):
        xp = get_array_module(p)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        if "exp_avg" not in state:
            state["exp_avg"], state["exp_avg_sq"] = xp.zeros_like(p), xp.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p)
        if _fusable(p, g):
            gpu.adam_update(p, g, state["exp_avg"], state["exp_avg_sq"],
                              state.get("max_exp_avg_sq"), lr, beta1, beta2, eps,
                              group["weight_decay"], self.decoupled_weight_decay,
                              state["step"])  # fmt: skip
            return
        if self.decoupled_weight_decay:
            p *= 1 - lr * group["weight_decay"]
        else:
            g = _weight_decayed(p, g, group["weight_decay"])
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denominator = xp.sqrt(v) / math.sqrt(1 - beta2**t) + eps
        p -= (lr / (1 - beta1**t)) * m / denominator


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p·(1 − lr·λ) before the Adam step, so every weight
    decays at the same rate whatever its gradient history (Loshchilov & Hutter)."""

    decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):  # fmt: skip
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class RMSprop(Optimizer):
    """v ← αv + (1 − α)g²;  p ← p − lr·g / (√v + ε). centered subtracts the squared running mean
    of g from v (a variance); momentum accumulates the scaled step."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False):  # fmt: skip
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))  # fmt: skip

    def update(self, p, g, state, group):
        xp = get_array_module(p)
        alpha = group["alpha"]
        if "square_avg" not in state:
            state["square_avg"] = xp.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p)
            if group["momentum"]:
                state["momentum_buffer"] = xp.zeros_like(p)
        if _fusable(p, g):
            gpu.rmsprop_update(p, g, state["square_avg"], state.get("grad_avg"),
                                 state.get("momentum_buffer"), group["lr"], alpha, group["eps"],
                                 group["weight_decay"], group["momentum"])  # fmt: skip
            return
        g = _weight_decayed(p, g, group["weight_decay"])
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        if group["centered"]:
            mean = state["grad_avg"]
            mean *= alpha
            mean += (1 - alpha) * g
            denominator = xp.sqrt(v - mean * mean) + group["eps"]
        else:
            denominator = xp.sqrt(v) + group["eps"]
        if group["momentum"]:
            b = state["momentum_buffer"]
            b *= group["momentum"]
            b += g / denominator
            p -= group["lr"] * b
        else:
            p -= group["lr"] * g / denominator


class Adagrad(Optimizer):
    """s ← s + g²;  p ← p − lr_t·g / (√s + ε), lr_t = lr / (1 + (t − 1)·lr_decay): each
    coordinate's step shrinks with the total squared gradient it has seen."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):  # fmt: skip
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)  # fmt: skip
        super().__init__(params, defaults)

    def update(self, p, g, state, group):
        xp = get_array_module(p)
        g = _weight_decayed(p, g, group["weight_decay"])
        if "sum" not in state:
            state["sum"] = xp.full_like(p, group["initial_accumulator_value"])
        s = state["sum"]
        s += g * g
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        p -= lr * g / (xp.sqrt(s) + group["eps"])
