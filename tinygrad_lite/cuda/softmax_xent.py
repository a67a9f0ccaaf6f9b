"""Launchers of kernels/softmax_xent.cu: the fused, numerically stable softmax cross-entropy. For
float16/bfloat16 logits the per-row results (loss, lse, sum of targets) are float32."""

from __future__ import annotations

from ..backend import get_array_module
from .kernels import Kernel, accumulate_dtype
from .launch import contiguous, launch

FORWARD = Kernel("softmax_xent.cu", "softmax_xent_forward")
BACKWARD = Kernel("softmax_xent.cu", "softmax_xent_backward", optional=("gt",))
KERNELS = [FORWARD, BACKWARD]


def forward(logits, target):
    """(loss per row, logsumexp per row, target sum per row) for (N, C) logits and targets."""
    logits, target = contiguous(logits, target)
    xp = get_array_module(logits)
    rows, classes = logits.shape
    per_row = accumulate_dtype(logits.dtype)
    loss, lse, target_sum = (xp.empty(rows, per_row) for _ in range(3))
    # one block per row, its threads reducing over the classes in shared memory
    launch(FORWARD, logits.dtype, rows, logits, target, loss, lse, target_sum, rows, classes,
           shared_per_thread=per_row.itemsize,
           blocks_for=lambda most: min(rows, most))  # fmt: skip
    return loss, lse, target_sum


def backward(logits, target, lse, target_sum, gy, target_grad: bool):
    """(gradient of the logits, gradient of the targets or None)."""
    logits, target, gy = contiguous(logits, target, gy)
    xp = get_array_module(logits)
    rows, classes = logits.shape
    g_logits = xp.empty_like(logits)
    g_target = xp.empty_like(target) if target_grad else None
    launch(BACKWARD, logits.dtype, logits.size, logits, target, lse, target_sum, gy, g_logits,
           g_target, rows, classes)  # fmt: skip
    return g_logits, g_target
