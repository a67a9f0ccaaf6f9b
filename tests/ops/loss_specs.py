"""Specs of the losses: logits/probabilities, targets and reductions drawn by hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite.nn import functional as F

from .opspec import OpSpec, shapes


def batch_by_classes(count=1, extra_axis=False):
    """`count` inputs of one shape (N, C) (or (N, C, d)), N in 1..4 and C in 1..5."""

    def draw(data):
        n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5))
        shape = (n, c, data.draw(st.integers(1, 3))) if extra_axis else (n, c)
        return (shape,) * count

    return draw


def two_same_shapes(data):
    """Input and target of one non-empty shape (the mean of nothing is NaN)."""
    return shapes(min_side=1)(data) * 2


def reduction(data):
    return data.draw(st.sampled_from(["mean", "sum", "none"]))


def label_params(data, input_shapes):
    shape = input_shapes[0]
    labels = data.draw(
        hnp.arrays(np.int64, shape[:1] + shape[2:], elements=st.integers(0, shape[1] - 1))
    )
    smoothing = data.draw(st.sampled_from([0.0, 0.1]))
    return {"target": labels, "reduction": reduction(data), "label_smoothing": smoothing}


def nll_params(data, input_shapes):
    params = label_params(data, input_shapes)
    del params["label_smoothing"]
    return params


def reduction_params(data, input_shapes):
    return {"reduction": reduction(data)}


def kl_params(data, input_shapes):
    return {"reduction": data.draw(st.sampled_from(["mean", "sum", "none", "batchmean"]))}


def distillation_params(data, input_shapes):
    n, c = input_shapes[0]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="teacher"))
    return {
        "teacher_logits": rng.standard_normal((n, c)) * 3,
        "target": rng.integers(0, c, n),
        "temperature": data.draw(st.sampled_from([1.0, 2.0, 4.0])),
        "alpha": data.draw(st.sampled_from([0.0, 0.5, 0.9, 1.0])),
    }


def _torch_distillation(student, teacher_logits, target, temperature, alpha):
    import torch

    F = _torch_F()
    teacher = torch.from_numpy(teacher_logits)
    log_p, log_q = F.log_softmax(student / temperature, 1), F.log_softmax(teacher / temperature, 1)
    soft = F.kl_div(log_p, log_q, reduction="batchmean", log_target=True)
    hard = F.cross_entropy(student, torch.from_numpy(target))
    return alpha * temperature**2 * soft + (1 - alpha) * hard


def _torch_F():
    import torch.nn.functional

    return torch.nn.functional


def _torch_labels(fn):
    import torch

    return lambda x, target, **p: fn(x, torch.from_numpy(target), **p)


LOSS_SPECS = [
    OpSpec("softmax_cross_entropy", tl.ops.softmax_cross_entropy,
           lambda z, t: _torch_F().cross_entropy(z, t, reduction="none"), batch_by_classes(2)),
    OpSpec("cross_entropy_labels", F.cross_entropy,
           lambda x, target, **p: _torch_labels(_torch_F().cross_entropy)(x, target, **p),
           batch_by_classes(), label_params),
    OpSpec("cross_entropy_per_pixel", F.cross_entropy,
           lambda x, target, **p: _torch_labels(_torch_F().cross_entropy)(x, target, **p),
           batch_by_classes(extra_axis=True), label_params),
    OpSpec("cross_entropy_probabilities", lambda x, t, reduction: F.cross_entropy(x, t, reduction),
           lambda x, t, reduction: _torch_F().cross_entropy(x, t, reduction=reduction),
           batch_by_classes(2), reduction_params, low=(-3.0, 0.0), high=(3.0, 1.0)),
    OpSpec("nll_loss", F.nll_loss,
           lambda x, target, **p: _torch_labels(_torch_F().nll_loss)(x, target, **p),
           batch_by_classes(), nll_params, low=-4.0, high=0.0),
    OpSpec("mse_loss", F.mse_loss, lambda x, y, **p: _torch_F().mse_loss(x, y, **p),
           two_same_shapes, reduction_params),
    OpSpec("l1_loss", F.l1_loss, lambda x, y, **p: _torch_F().l1_loss(x, y, **p),
           two_same_shapes, reduction_params, distinct=True),
    OpSpec("binary_cross_entropy", F.binary_cross_entropy,
           lambda p, t, **k: _torch_F().binary_cross_entropy(p, t, **k), two_same_shapes,
           reduction_params, low=(0.05, 0.0), high=(0.95, 1.0)),
    OpSpec("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
           lambda x, t, **k: _torch_F().binary_cross_entropy_with_logits(x, t, **k),
           two_same_shapes, reduction_params, low=(-5.0, 0.0), high=(5.0, 1.0)),
    OpSpec("kl_div", F.kl_div, lambda x, t, **k: _torch_F().kl_div(x, t, **k), batch_by_classes(2),
           kl_params, low=(-4.0, 0.05), high=(0.0, 1.0)),
    OpSpec("kl_div_log_target",
           lambda x, t, reduction: F.kl_div(x, t, reduction, log_target=True),
           lambda x, t, reduction: _torch_F().kl_div(x, t, reduction=reduction, log_target=True),
           batch_by_classes(2), kl_params, low=-4.0, high=0.0),
    OpSpec("distillation_loss", F.distillation_loss, _torch_distillation, batch_by_classes(),
           distillation_params, low=-3.0, high=3.0),
]  # fmt: skip
