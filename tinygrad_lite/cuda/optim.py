"""Launchers of kernels/optim.cu: one fused, in-place update per parameter (SGD, Adam, RMSprop),
on contiguous parameter and state arrays. The gradient may be float16/bfloat16 for a float32
parameter (master weights in mixed precision): the kernel widens it as it reads it."""

from __future__ import annotations

from .kernels import Kernel
from .launch import contiguous, launch

# (parameter, gradient) dtypes
PAIRS = (("float32", "float32"), ("float64", "float64"), ("float32", "float16"),
         ("float32", "bfloat16"))  # fmt: skip
SGD = Kernel("optim.cu", "sgd_update", optional=("buf",), instantiations=PAIRS)
ADAM = Kernel("optim.cu", "adam_update", optional=("max_v",), instantiations=PAIRS)
RMSPROP = Kernel("optim.cu", "rmsprop_update", optional=("grad_avg", "buf"), instantiations=PAIRS)
KERNELS = [SGD, ADAM, RMSPROP]


def sgd_update(p, g, buffer, lr, momentum, dampening, weight_decay, nesterov, first_step):
    (g,) = contiguous(g)
    launch(SGD, (p.dtype, g.dtype), p.size, p, g, buffer, lr, momentum, dampening, weight_decay,
           int(nesterov), int(first_step), p.size)  # fmt: skip


def adam_update(p, g, m, v, max_v, lr, beta1, beta2, eps, weight_decay, decoupled, step):
    (g,) = contiguous(g)
    step_size, bias2_sqrt = lr / (1 - beta1**step), (1 - beta2**step) ** 0.5
    launch(ADAM, (p.dtype, g.dtype), p.size, p, g, m, v, max_v, lr, beta1, beta2, eps, weight_decay,
           int(decoupled), step_size, bias2_sqrt, p.size)  # fmt: skip


def rmsprop_update(p, g, square_avg, grad_avg, buffer, lr, alpha, eps, weight_decay, momentum):
    (g,) = contiguous(g)
    launch(RMSPROP, (p.dtype, g.dtype), p.size, p, g, square_avg, grad_avg, buffer, lr, alpha, eps,
           weight_decay, momentum, p.size)  # fmt: skip
