"""Loss functions (functional, with PyTorch's names and arguments) and their Module forms.

All take `reduction` = 'mean' (default), 'sum' or 'none' (kl_div also 'batchmean'). Derivations:
docs/derivations/loss.md
"""

from __future__ import annotations

from .. import ops
from ..ops.loss import (
    REDUCTIONS,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    SquaredError,
    check_reduction,
    reduced_loss,
)
from ..tensor import Tensor, as_tensor
from .module import Module


def _reduce(losses: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    check_reduction(name, reduction)
    return losses


def _same_shape(input: Tensor, target, name: str) -> tuple[Tensor, Tensor]:
    """Losses refuse to broadcast: (N, 1) against (N,) would silently give an (N, N) loss.
    Inside tl.amp.autocast the loss is computed in float32."""
    (input,) = ops.precision.autocast_inputs(name, as_tensor(input))
    target = as_tensor(target, like=input)
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input shape {input.shape} and target shape {target.shape} differ"
        )
    return input, target


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (input - target)². Backward: 2 (input - target) / n."""
    input, target = _same_shape(input, target, "mse_loss")
    return reduced_loss(SquaredError, "mse_loss", input, target, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error |input - target|. Backward: sign(input - target) / n."""
    input, target = _same_shape(input, target, "l1_loss")
    return _reduce(ops.abs(input - target), reduction, "l1_loss")


def binary_cross_entropy(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """-(t log p + (1 - t) log(1 - p)) for probabilities p, each log clamped at -100 as in PyTorch
    (so p = 0 or 1 gives a large finite loss, not inf, and a finite gradient). Prefer the
    `_with_logits` form."""
    input, target = _same_shape(input, target, "binary_cross_entropy")
    return reduced_loss(BinaryCrossEntropy, "binary_cross_entropy", input, target, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """BCE of sigmoid(x) written as softplus(x) - t·x, finite for any x.

    Backward: σ(x) - t (the sigmoid's σ' cancels against the log's 1/σ)."""
    input, target = _same_shape(input, target, "binary_cross_entropy_with_logits")
    name = "binary_cross_entropy_with_logits"
    return reduced_loss(BinaryCrossEntropyWithLogits, name, input, target, reduction)


def _class_axis_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N·d1·..., C), PyTorch's layout for per-pixel classes."""
    if x.ndim <= 2:
        return x
    return ops.permute(x, 0, *range(2, x.ndim), 1).reshape(-1, x.shape[1])


def cross_entropy(
    input: Tensor, target, reduction: str = "mean", label_smoothing: float = 0.0
) -> Tensor:
    """Cross-entropy of softmax(input) for logits of shape (N, C) (or (N, C, d1, ...)).

    Args:
        input: logits, classes on axis 1.
        target: integer class labels of shape (N,) (or (N, d1, ...)), or class probabilities /
            one-hot rows of the same shape as input.
        reduction: 'mean', 'sum' or 'none'.
        label_smoothing: ε; the target becomes (1 - ε)·target + ε / C.

    Uses the fused SoftmaxCrossEntropy op, whose backward is softmax(input) - target.
    """
    (input,) = ops.precision.autocast_inputs("cross_entropy", as_tensor(input))  # float32
    if input.ndim < 2:
        raise ValueError(f"cross_entropy: logits need shape (N, C), got {input.shape}")
    classes = input.shape[1]
    target = as_tensor(target, like=input)
    batch_shape = input.shape[:1] + input.shape[2:]
    if target.dtype.kind == "f":
        if target.shape != input.shape:
            raise ValueError(
                f"cross_entropy: probability targets {target.shape} must match logits "
                f"{input.shape}; class labels must be integers (e.g. labels.astype(np.int64)), "
                f"got {target.dtype}"
            )
        target = _class_axis_last(target)
    else:
        if target.shape != batch_shape:
            raise ValueError(f"cross_entropy: labels {target.shape} for logits {input.shape}")
        target = ops.loss.OneHot.apply(
            target, classes=classes, dtype=input.dtype, name="cross_entropy"
        )  # NOTE: the op checks the labels' values, on every tl.jit replay too
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    losses = ops.softmax_cross_entropy(_class_axis_last(input), target)
    return _reduce(losses.reshape(batch_shape), reduction, "cross_entropy")


def nll_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """-log_probs[i, target_i], for log-probabilities of shape (N, C) and integer labels (N,).
    Backward: -gy at the picked entries (scatter-added), 0 elsewhere."""
    (input,) = ops.precision.autocast_inputs("nll_loss", as_tensor(input))  # float32
    if input.ndim != 2:
        raise ValueError(f"nll_loss: log-probabilities need shape (N, C), got {input.shape}")
    labels = as_tensor(target, like=input)
    if labels.shape != input.shape[:1]:
        raise ValueError(f"nll_loss: labels {labels.shape} for log-probabilities {input.shape}")
    return _reduce(-ops.loss.PickClass.apply(input, labels), reduction, "nll_loss")


def kl_div(input: Tensor, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence KL(target ‖ exp(input)) for log-probabilities `input`, as
    torch's kl_div: pointwise target·(log target - input) (0 where target is 0), or with
    log_target=True exp(target)·(target - input). reduction='batchmean' divides the sum by the
    batch size (input.shape[0]): the true KL per sample; 'mean' (PyTorch's default) divides by
    the number of elements.

    Backward: g_input = -target (the probabilities); g_target = log target - input + 1."""
    check_reduction("kl_div", reduction, REDUCTIONS + ("batchmean",))
    input, target = _same_shape(input, target, "kl_div")
    if log_target:
        pointwise = ops.exp(target) * (target - input)
    else:
        # NOTE: log of 1 where target is 0, so that neither the value nor a gradient is NaN
        safe = ops.where(target > 0, target, 1.0)
        pointwise = target * (ops.log(safe) - input)
    if reduction == "batchmean":
        return pointwise.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(pointwise, reduction, "kl_div")


def distillation_loss(student_logits: Tensor, teacher_logits, target, temperature: float = 4.0,
                      alpha: float = 0.9) -> Tensor:  # fmt: skip
    """Knowledge distillation (Hinton, Vinyals and Dean 2015): α·T²·KL(softmax(t/T) ‖
    softmax(s/T)) + (1 - α)·CE(s, target), with the KL averaged per sample ('batchmean').

    The soft part's gradient with respect to the student's logits is α·T·(softmax(s/T) -
    softmax(t/T)) / N: the T² makes up for the 1/T² that softening puts on it, so gradient
    sizes stay comparable across temperatures. The teacher's logits are constants (detached).

    Args:
        student_logits, teacher_logits: (N, C) logits.
        target: integer labels (N,) for the hard part.
        temperature: T > 0; larger T softens both distributions, showing the teacher's
            ranking of the wrong classes.
        alpha: weight of the soft part, in [0, 1].
    """
    if not temperature > 0:
        raise ValueError(f"distillation_loss: temperature must be > 0, got {temperature}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"distillation_loss: alpha must be in [0, 1], got {alpha}")
    student_logits = as_tensor(student_logits)
    teacher = as_tensor(teacher_logits, like=student_logits).detach()
    if teacher.shape != student_logits.shape:
        raise ValueError(
            f"distillation_loss: student logits {student_logits.shape} and teacher logits "
            f"{teacher.shape} differ"
        )
    soft = kl_div(
        ops.log_softmax(student_logits / temperature, axis=1),
        ops.log_softmax(teacher / temperature, axis=1),
        reduction="batchmean",
        log_target=True,
    )
    hard = cross_entropy(student_logits, target)
    return soft * (alpha * temperature**2) + hard * (1 - alpha)


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    def forward(self, input, target):
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, input, target):
        return l1_loss(input, target, self.reduction)


class BCELoss(_Loss):
    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.reduction)


class NLLLoss(_Loss):
    def forward(self, input, target):
        return nll_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return cross_entropy(input, target, self.reduction, self.label_smoothing)


class KLDivLoss(_Loss):
    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return kl_div(input, target, self.reduction, self.log_target)
