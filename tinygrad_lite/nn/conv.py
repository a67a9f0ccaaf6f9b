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


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1,
                     dilation=1) -> Tensor:  # fmt: skip
    """The adjoint of conv2d (torch's conv_transpose2d): each input pixel scatters x·W into its
    window of the output, i.e. col2im (Fold) of the product x Wᵀ. weight (C_in, C_out / groups,
    KH, KW); output size (H - 1)·s - 2p + d(k - 1) + output_padding + 1 per axis.

    Backward: through the product and Fold, whose adjoint is Unfold (docs/derivations/conv.md).
    """
    x, weight = as_tensor(x), as_tensor(weight)
    in_channels, group_out, kh, kw = weight.shape
    _check_image(x, "conv_transpose2d", in_channels)
    if in_channels % groups:
        raise ValueError(f"conv_transpose2d: {in_channels} input channels do not split into "
                         f"{groups} groups")  # fmt: skip
    window = Window.of((kh, kw), stride, padding, dilation)
    extra = (output_padding,) * 2 if isinstance(output_padding, int) else tuple(output_padding)
    if any(e >= max(s, d) or e < 0 for e, s, d in zip(extra, window.stride, window.dilation)):
        raise ValueError(f"conv_transpose2d: output_padding {extra} must be >= 0 and smaller "
                         f"than the stride {window.stride} or the dilation "
                         f"{window.dilation}")  # fmt: skip
    # NOTE: col2im without padding (H windows exactly), the output_padding rows (no window
    # reaches them: zeros) added at the end, then `padding` cropped from both sides
    full = tuple((n - 1) * s + d * (k - 1) + 1 for n, s, d, k in zip(
        x.shape[2:], window.stride, window.dilation, window.kernel))  # fmt: skip
    n, height, width, per_group = x.shape[0], *x.shape[2:], in_channels // groups
    parts = []
    for g in range(groups):
        rows = x[:, g * per_group : (g + 1) * per_group].permute(0, 2, 3, 1)
        w = weight[g * per_group : (g + 1) * per_group].reshape(per_group, -1)
        cols = (rows.reshape(-1, per_group) @ w).reshape(n, height, width, group_out, kh, kw)
        parts.append(ops.fold(cols, full, window.kernel, window.stride, 0, window.dilation))
    y = parts[0] if groups == 1 else ops.concatenate(parts, axis=1)
    if any(extra):
        y = ops.pad(y, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    (ph, pw), (h, w) = window.padding, y.shape[2:]
    if h - 2 * ph < 1 or w - 2 * pw < 1:
        raise ValueError(f"conv_transpose2d: padding {window.padding} leaves no output of the "
                         f"{(h, w)} the windows cover")  # fmt: skip
    if ph or pw:
        y = y[:, :, ph : h - ph, pw : w - pw]
    return y if bias is None else y + as_tensor(bias, like=y).reshape(1, -1, 1, 1)


class ConvTranspose2d(Module):
    """torch.nn.ConvTranspose2d: weight (in, out / groups, KH, KW), PyTorch's default init."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 dtype=None):  # fmt: skip
        check_sizes("ConvTranspose2d", in_channels=in_channels, out_channels=out_channels,
                    groups=groups)  # fmt: skip
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"ConvTranspose2d: channels {in_channels}, {out_channels} do not "
                             f"split into {groups} groups")  # fmt: skip
        window = Window.of(kernel_size, stride, padding, dilation)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = window.kernel, window.stride
        self.padding, self.dilation = window.padding, window.dilation
        self.output_padding = output_padding
        dtype = dtype or DEFAULT_FLOAT
        shape = (in_channels, out_channels // groups, *window.kernel)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        init.default_weight_and_bias_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                self.output_padding, self.groups, self.dilation)  # fmt: skip


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
