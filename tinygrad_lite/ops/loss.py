"""The losses that have their own backward: fused softmax + cross-entropy, binary cross-entropy
on probabilities (whose composed form would differentiate log 0), and the elementwise squared
error and binary cross-entropy with logits (one node and one pass each where the composed forms
record three or four: the loss ends every step of a small network).

Derivations: docs/derivations/loss.md
"""

from __future__ import annotations

from ..autograd import Function
from ..cuda import softmax_xent as gpu
from ..cuda.launch import supported
from ..tensor import Tensor
from .activation import log_softmax, sigmoid, sigmoid_array, softplus_array
from .arithmetic import clip, maximum
from .unary import exp, log


class SoftmaxCrossEntropy(Function):
    """Per-row loss ℓ = -Σ_c t_c log p_c with p = softmax(z), for logits z and targets t of
    shape (N, C); log p is computed as z - logsumexp(z), so no probability underflows to log 0.

    Backward: gz = gy · (p Σ_c t_c - t), which is p - t for targets summing to 1 (the σ' factor
    cancels); gt = -gy · log p.

    On the GPU one kernel per row block (kernels/softmax_xent.cu) keeps only logsumexp and Σ_c t_c
    per row, instead of log p, and the backward is one elementwise kernel. float16/bfloat16 logits
    are read as they are and computed on in float32 (no widened copy); the loss is returned in the
    logits' dtype, as on the CPU (under autocast the losses are float32 ops: see amp.py).
    """

    log_p = None

    def forward(self, logits, target):
        if supported(logits, target):
            loss, self.lse, self.target_sum = gpu.forward(logits, target)
            return loss.astype(logits.dtype, copy=False)
        xp = self.xp
        shifted = logits - logits.max(axis=1, keepdims=True)
        self.log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        # NOTE: a class with target 0 adds 0 even where log p = -inf (a logit of -inf), not NaN
        return -xp.where(target == 0, 0, target * self.log_p).sum(axis=1)

    def backward(self, gy):
        logits, target = self.inputs
        # NOTE: log p is rebuilt from ops, so that the gradient is differentiable too
        log_p = log_softmax(logits, axis=1)
        gy = gy.reshape(-1, 1)
        g_logits = gy * (exp(log_p) * target.sum(axis=1, keepdims=True) - target)
        g_target = -gy * log_p if self.needs_input_grad[1] else None
        return g_logits, g_target

    def backward_untracked(self, gy):
        """The two backward lines on plain arrays, or in one GPU kernel, with nothing recorded."""
        logits, target = (x.data for x in self.inputs)
        wants_target_grad = self.needs_input_grad[1]
        if self.log_p is None:  # the fused forward kept logsumexp and Σ_c t_c instead of log p
            gy = gy.astype(self.lse.dtype, copy=False)  # the kernel takes per-row values in float32
            return gpu.backward(logits, target, self.lse, self.target_sum, gy, wants_target_grad)
        gy = gy.reshape(-1, 1)
        g_logits = gy * (self.xp.exp(self.log_p) * target.sum(axis=1, keepdims=True) - target)
        return g_logits, (-gy * self.log_p if wants_target_grad else None)


class OneHot(Function):
    """y[i, c] = 1 where labels[i] = c, else 0, in `dtype`, for integer labels of any shape
    (flattened to rows): the probability targets of a cross-entropy on class labels. An op,
    not NumPy code beside the graph, so that tl.jit sees the labels flow into the loss.

    Backward: none (integer labels have no gradient).
    """

    def forward(self, labels, classes: int, dtype, name: str = "one_hot"):
        check_labels(labels, classes, name)
        return self.xp.eye(classes, dtype=dtype)[labels.reshape(-1)]

    def backward(self, gy):
        return (None,)


def check_labels(labels, classes: int, name: str) -> None:
    """Raise unless `labels` (an array) are integers in [0, classes). Called inside forwards,
    so that a tl.jit replay checks every batch as eager does."""
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name}: class labels must be integers, got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(
            f"{name}: labels must be in [0, {classes}), got values from {labels.min()} "
            f"to {labels.max()}"
        )


class PickClass(Function):
    """y[i] = x[i, labels[i]] for x (N, C) and integer labels (N,): nll_loss's gather.

    Backward: gx = zeros with gy[i] at (i, labels[i]); the labels get no gradient.
    """

    def forward(self, x, labels):
        check_labels(labels, x.shape[1], "nll_loss")
        self.rows = self.xp.arange(x.shape[0])
        return x[self.rows, labels]

    def backward(self, gy):
        x, labels = self.inputs
        picked = OneHot.apply(labels, classes=x.shape[1], dtype=gy.dtype)
        return gy.reshape(-1, 1) * picked, None

    def backward_untracked(self, gy):
        x, labels = (t.data for t in self.inputs)
        gx = self.xp.zeros(x.shape, gy.dtype)
        gx[self.rows, labels] = gy
        return gx, None


def softmax_cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Per-row cross-entropy of softmax(logits) against target probabilities, both (N, C)."""
    if logits.ndim != 2 or logits.shape != target.shape:
        raise ValueError(
            f"softmax_cross_entropy: logits {logits.shape} and targets {target.shape} must both "
            "be (N, C)"
        )
    return SoftmaxCrossEntropy.apply(logits, target.astype(logits.dtype))


REDUCTIONS = ("mean", "sum", "none")


class ReducedLoss(Function):
    """An elementwise loss ℓ(x, t) of an input x and a target t of one shape, with its reduction
    in the same op: 'none' (ℓ itself), 'sum' (Σℓ) or 'mean' (Σℓ / n): one node where the loss
    and a Mean recorded two; a loss ends every training step.

    Subclasses give `losses(x, t)` on arrays and `gradients(g, x, t)`: (gx, gt) for the upstream
    gradient g of each element, on arrays (the array backward) or Tensors (the differentiable
    one): written with operators the two share, branching only where a function differs (log,
    clip, sigmoid). The reduction's part of the
    backward is g: gy itself ('none'), or the 0-d gy (÷ n for 'mean'), broadcast by the rule.
    """

    abstract = True  # applied only through its subclasses (an own attribute: not inherited)

    def forward(self, x, t, reduction: str):
        self.reduction, self.count = reduction, x.size
        losses = self.losses(x, t)
        if reduction == "none":
            return losses
        total = losses.sum()
        return total / self.count if reduction == "mean" else total  # NOTE: n keeps the dtype

    def _upstream(self, gy):
        return gy / self.count if self.reduction == "mean" else gy

    def backward(self, gy):
        x, t = self.inputs
        return self._needed(self.gradients(self._upstream(gy), x, t))

    def backward_untracked(self, gy):
        x, t = (v.data for v in self.inputs)
        return self._needed(self.gradients(self._upstream(gy), x, t))

    def _needed(self, gradients):
        return tuple(g if needed else None for g, needed in zip(gradients, self.needs_input_grad))


def reduced_loss(op: type[ReducedLoss], name: str, x: Tensor, t: Tensor, reduction: str) -> Tensor:
    """op(x, t) reduced as asked, after checking the shapes and the reduction by name."""
    if x.shape != t.shape:
        raise ValueError(f"{name}: input shape {x.shape} and target shape {t.shape} differ")
    check_reduction(name, reduction)
    return op.apply(x, t.astype(x.dtype), reduction=reduction)


def check_reduction(name: str, reduction: str, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    """Raise ValueError naming the loss unless `reduction` is one of `allowed`."""
    if reduction not in allowed:
        raise ValueError(f"{name}: reduction must be one of {allowed}, got {reduction!r}")


class BinaryCrossEntropy(ReducedLoss):
    """ℓ = -(t·max(log p, -100) + (1 - t)·max(log(1 - p), -100)) elementwise, for probabilities
    p and targets t of one shape; the clamp (PyTorch's) keeps ℓ finite at p = 0 and p = 1.

    Backward: gp = g · (p - t) / max(p (1 - p), 1e-12), gt = g · (max(log(1 - p), -100) -
    max(log p, -100)), g the upstream gradient of each element (see ReducedLoss). NOTE:
    composing clip(log p) would pass back 0 / 0 = NaN at p = 0; this is PyTorch's rule, finite
    wherever the loss is (0 at p = t ∈ {0, 1}).
    """

    def losses(self, p, t):
        if p.size and (p.min() < 0 or p.max() > 1):  # NOTE: here, so a tl.jit replay checks too
            raise ValueError(
                "binary_cross_entropy: input must be probabilities in [0, 1]; for raw scores "
                "use binary_cross_entropy_with_logits"
            )
        log_p = self.xp.maximum(self.xp.log(p), -100)  # log 0 = -inf, clamped
        log_not_p = self.xp.maximum(self.xp.log1p(-p), -100)
        return -(t * log_p + (1 - t) * log_not_p)

    def gradients(self, g, p, t):
        if isinstance(p, Tensor):  # recorded ops, for create_graph
            gp = g * (p - t) / maximum(p * (1 - p), 1e-12)
            return gp, g * (clip(log(1 - p), -100.0) - clip(log(p), -100.0))
        xp = self.xp
        gp = g * (p - t) / xp.maximum(p * (1 - p), 1e-12)
        if not self.needs_input_grad[1]:
            return gp, None
        return gp, g * (xp.maximum(xp.log1p(-p), -100) - xp.maximum(xp.log(p), -100))


class SquaredError(ReducedLoss):
    """ℓ = (x - t)² elementwise, for input x and target t of one shape.

    Backward: gx = g · 2(x - t), gt = -gx, g the upstream gradient of each element (see
    ReducedLoss).
    """

    def losses(self, x, t):
        difference = x - t
        return difference * difference

    def gradients(self, g, x, t):
        gx = g * (2 * (x - t))
        return gx, (-gx if self.needs_input_grad[1] else None)


class BinaryCrossEntropyWithLogits(ReducedLoss):
    """ℓ = softplus(x) - t·x elementwise: the binary cross-entropy of σ(x) against targets t,
    finite for any logit x (softplus is computed stably).

    Backward: gx = g · (σ(x) - t) (σ' cancels against the logs' 1/σ), gt = -g · x, g the
    upstream gradient of each element (see ReducedLoss).
    """

    def losses(self, x, t):
        return softplus_array(self.xp, x, 1.0) - t * x

    def gradients(self, g, x, t):
        probability = sigmoid(x) if isinstance(x, Tensor) else sigmoid_array(self.xp, x)
        return g * (probability - t), (-g * x if self.needs_input_grad[1] else None)


def binary_cross_entropy(p: Tensor, t: Tensor, reduction: str = "none") -> Tensor:
    """Binary cross-entropy of probabilities `p` against targets `t` (one shape)."""
    return reduced_loss(BinaryCrossEntropy, "binary_cross_entropy", p, t, reduction)


def squared_error(x: Tensor, t: Tensor, reduction: str = "none") -> Tensor:
    """(x - t)² of input `x` and target `t` (one shape)."""
    return reduced_loss(SquaredError, "squared_error", x, t, reduction)


def binary_cross_entropy_with_logits(x: Tensor, t: Tensor, reduction: str = "none") -> Tensor:
    """Binary cross-entropy of logits `x` against targets `t` (one shape)."""
    return reduced_loss(BinaryCrossEntropyWithLogits, "binary_cross_entropy_with_logits", x, t,
                        reduction)  # fmt: skip
