"""Convolution and pooling on NCHW tensors, built from im2col (ops.unfold) and matrix products.

conv2d: one op (ops.conv.Conv2d): unfold the input into rows of C·KH·KW window values, multiply
by the weights reshaped to (O, C·KH·KW), add the bias, and see the rows as (N, O, OH, OW); its
backward is col2im of the rows' gradient times the weights. max_pool2d gathers each window's
maximum, so its backward scatters the gradient to that one element.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import ops
from ..ops.conv import Window
from ..tensor import DEFAULT_FLOAT, Tensor, as_tensor
from . import init
from .module import Module, Parameter, check_sizes


def _check_image(x: Tensor, op: str, channels: int | None = None) -> None:
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        expected = f"(N, {channels}, H, W)" if channels is not None else "(N, C, H, W)"
        raise ValueError(f"{op}: expected an input of shape {expected}, got {x.shape}")


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:  # fmt: skip
    """2-D cross-correlation (what deep learning calls convolution), NCHW, as torch's conv2d.

    weight has shape (O, C / groups, KH, KW); each group of C / groups input channels feeds its
    own O / groups output channels.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias, like=weight)
    out_channels, group_channels, kh, kw = weight.shape
    _check_image(x, "conv2d", group_channels * groups)
    x, weight, bias = ops.precision.autocast_inputs("conv2d", x, weight, bias)  # low dtype
    if out_channels % groups:
        raise ValueError(
            f"conv2d: {out_channels} output channels do not split into {groups} groups"
        )
    window = Window.of((kh, kw), stride, padding, dilation)
    window.output_size(*x.shape[2:], "conv2d")
    operands = [t for t in (x, weight, bias) if t is not None]
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"conv2d: bias {bias.shape} for weight {weight.shape}: need (out,)")
    dtype = functools.reduce(np.promote_types, [t.dtype for t in operands])
    operands = [t.astype(dtype) for t in operands]  # mixed dtypes promote as matmul and + do
    return ops.conv.Conv2d.apply(*operands, window=window, groups=groups)


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """Maximum of each window (padding counts as -inf). The backward sends each window's gradient
    to its maximum, the first one when several tie (as PyTorch)."""
    x = as_tensor(x)
    _check_image(x, "max_pool2d")
    window = Window.of(kernel_size, kernel_size if stride is None else stride, padding, dilation)
    window.output_size(*x.shape[2:], "max_pool2d")
    if any(2 * p > k for p, k in zip(window.padding, window.kernel)):
        raise ValueError(
            f"max_pool2d: padding {window.padding} must be at most half the kernel {window.kernel}"
        )
    return ops.conv.MaxPool2d.apply(x, window=window)


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean of each window; zero padding is counted in the mean (PyTorch's default)."""
    x = as_tensor(x)
    _check_image(x, "avg_pool2d")
    cols = ops.unfold(x, kernel_size, kernel_size if stride is None else stride, padding)
    return cols.mean(axis=(4, 5)).permute(0, 3, 1, 2)


class Conv2d(Module):
    """2-D convolution layer; weight (out, in / groups, KH, KW), PyTorch's default init."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, dtype=None):  # fmt: skip
        check_sizes("Conv2d", in_channels=in_channels, out_channels=out_channels, groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: channels {in_channels}, {out_channels} do not split into {groups} groups"
            )
        window = Window.of(kernel_size, stride, padding, dilation)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = window.kernel, window.stride
        self.padding, self.dilation = window.padding, window.dilation
        dtype = dtype or DEFAULT_FLOAT
        shape = (out_channels, in_channels // groups, *window.kernel)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        init.default_weight_and_bias_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        text += f", stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + (", bias=False" if self.bias is None else "")


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
