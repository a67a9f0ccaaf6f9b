"""Launchers of kernels/activation.cu: one kernel per activation and direction, named for what it
computes (relu_forward, relu_backward, ..., gelu_backward)."""

from __future__ import annotations

from ..backend import get_array_module
from .kernels import Kernel
from .launch import contiguous, launch

NAMES = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu")
KERNELS = [
    Kernel("activation.cu", f"{name}_{way}") for name in NAMES for way in ("forward", "backward")
]
_KERNEL = {kernel.name: kernel for kernel in KERNELS}


def forward(name: str, x, *scalars):
    """y = f(x) for the activation `name` (leaky_relu takes its slope as the scalar)."""
    (x,) = contiguous(x)
    xp = get_array_module(x)
    y = xp.empty_like(x)
    launch(_KERNEL[f"{name}_forward"], x.dtype, x.size, x, y, *scalars, x.size)
    return y


def backward(name: str, saved, gy, *scalars):
    """gx = gy * f'(.), where `saved` is x (relu, leaky_relu, gelu) or y (sigmoid, tanh)."""
    saved, gy = contiguous(saved, gy)
    xp = get_array_module(gy)
    gx = xp.empty_like(gy)
    launch(_KERNEL[f"{name}_backward"], gy.dtype, gy.size, saved, gy, gx, *scalars, gy.size)
    return gx
