"""Batch normalization: y = γ·(x − μ)/√(σ² + ε) + β per channel.

In training, μ and σ² are the batch's statistics and the gradient flows through them too (the
chain rule through mean and var gives the well-known BatchNorm backward). Running averages
(momentum 0.1, unbiased variance, as in PyTorch) are used in eval mode.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd import no_grad
from ..tensor import DEFAULT_FLOAT, Tensor
from .module import Module, Parameter, check_sizes


def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:  # fmt: skip
    """Normalize each channel (axis 1) of x; torch.nn.functional.batch_norm's arguments.

    training: use the batch's mean and (biased) variance, and update the running statistics in
    place when given; otherwise use the running statistics.
    """
    (x,) = ops.precision.autocast_inputs("batch_norm", x)  # float32 inside tl.amp.autocast
    axes = (0, *range(2, x.ndim))
    per_channel = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        if x.size == x.shape[1]:  # NOTE: one value per channel: var 0, output 0, no gradient
            raise ValueError(
                f"batch_norm: training needs more than one value per channel, got input of "
                f"shape {x.shape}; use a batch of at least 2, or eval() mode"
            )
        mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
        if running_mean is not None and running_var is not None:
            count = x.size // x.shape[1]
            with no_grad():
                unbiased = var.reshape(-1) * (count / max(count - 1, 1))
                running_mean.copy_(running_mean * (1 - momentum) + mean.reshape(-1) * momentum)
                running_var.copy_(running_var * (1 - momentum) + unbiased * momentum)
    else:
        mean, var = running_mean.reshape(per_channel), running_var.reshape(per_channel)
    y = (x - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(per_channel)
    if bias is not None:
        y = y + bias.reshape(per_channel)
    return y


class _BatchNorm(Module):
    dims: tuple[int, ...] = ()  # accepted input ranks

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None):  # fmt: skip
        check_sizes(type(self).__name__, num_features=num_features)
        dtype = dtype or DEFAULT_FLOAT
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            # PyTorch's counter: state_dicts carry it, so checkpoints move between the two
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), dtype=np.int64)))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.dims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}: expected {self.num_features} channels on axis 1 of a "
                f"{' or '.join(map(str, self.dims))}-d input, got shape {x.shape}"
            )
        use_batch_stats = self.training or not self.track_running_stats
        running = (
            (self.running_mean, self.running_var) if self.track_running_stats else (None, None)
        )
        weight, bias = (self.weight, self.bias) if self.affine else (None, None)
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked += 1
        return batch_norm(x, *running, weight, bias, use_batch_stats, self.momentum, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
        )


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L) inputs: statistics per channel C."""

    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W) inputs: statistics per channel C, across batch and pixels."""

    dims = (4,)
