"""DistributedDataParallel: the same model on every rank, each rank on its own share of a batch,
gradients averaged across ranks after every backward, so each optimizer step is the step a single
process would take on the whole batch.

Why averaging is exact: the loss of a batch of W·B samples (a mean) is the mean of the W ranks'
losses over B samples each, and differentiation is linear, so its gradient is the mean of their
gradients. Starting from rank 0's parameters, every rank then takes the same step.
"""

from __future__ import annotations

import contextlib
import hashlib
import weakref

import numpy as np

from .. import autograd, distributed
from ..autograd import no_grad
from ..tensor import Tensor
from .module import Module


class DistributedDataParallel(Module):
    """Wrap a model for data-parallel training under tl.distributed.init().

    On creation every parameter and buffer is broadcast from rank 0. After each `backward` that
    reaches the model's parameters, their gradients are averaged across ranks, packed into flat
    buckets of about `bucket_cap_mb` so that many small tensors cost few messages. Optimizers are
    used unchanged. Every rank must run the same number of backward passes (they communicate).

    Args:
        module: the model.
        bucket_cap_mb: bucket size in MiB.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0):
        self.module = module
        self.bucket_bytes = int(bucket_cap_mb * 2**20)
        _check_same_model_on_every_rank(module)
        with no_grad():
            for _, tensor in module._named_state("", include_buffers=True):
                distributed.broadcast(tensor, root=0)
        self._sync = True  # False inside no_sync(): gradients accumulate locally
        self._hook = _averaging_hook(weakref.ref(self))
        autograd.post_backward_hooks.append(self._hook)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside the block, backward leaves the gradients on this rank (they accumulate); the
        first backward after it averages the accumulated gradients across ranks: gradient
        accumulation with one all-reduce per group (PyTorch's no_sync). Averages are linear, so
        the result is the same; only k − 1 all-reduces of k are saved."""
        previous, self._sync = self._sync, False
        try:
            yield self
        finally:
            self._sync = previous

    def _named_state(self, prefix: str, include_buffers: bool):
        # NOTE: state_dict keys stay the inner model's, so checkpoints load with or without DDP
        return self.module._named_state(prefix, include_buffers)

    def buckets(self) -> list[list[Tensor]]:
        """The trainable parameters grouped into buckets of one dtype and device, in order."""
        buckets, size, key = [], 0, None
        for p in self.module.parameters():
            if not p.requires_grad:
                continue
            if (
                not buckets
                or (p.dtype, p.device) != key
                or size + p.data.nbytes > self.bucket_bytes
            ):
                buckets.append([])
                size, key = 0, (p.dtype, p.device)
            buckets[-1].append(p)
            size += p.data.nbytes
        return buckets

    def average_gradients(self) -> None:
        """Average every trainable parameter's .grad across ranks (a missing one counts as 0)."""
        world = distributed.world_size()
        with no_grad():
            for bucket in self.buckets():
                xp = bucket[0].xp
                flat = xp.concatenate([
                    (p.grad.data if p.grad is not None else xp.zeros_like(p.data)).reshape(-1)
                    for p in bucket
                ])  # fmt: skip
                summed = Tensor(flat)
                distributed.all_reduce(summed, op="sum")
                flat = summed.data / world
                offsets = np.cumsum([0] + [p.size for p in bucket])
                for p, start, end in zip(bucket, offsets[:-1], offsets[1:]):
                    p.grad = Tensor(flat[start:end].reshape(p.shape))

    def remove(self) -> None:
        """Stop averaging (the model keeps working, now as a single-process model)."""
        if self._hook in autograd.post_backward_hooks:
            autograd.post_backward_hooks.remove(self._hook)


def _averaging_hook(model_ref):
    """A hook that holds the model weakly, and removes itself once the model is gone."""

    def hook(leaves):
        model = model_ref()
        if model is None:
            autograd.post_backward_hooks.remove(hook)
            return
        own = {id(p) for p in model.module.parameters()}
        if model._sync and any(id(leaf) in own for leaf in leaves):
            model.average_gradients()

    return hook


def _check_same_model_on_every_rank(module: Module) -> None:
    """Raise on every rank, before any broadcast, if the ranks' parameter and buffer names,
    shapes and dtypes differ (otherwise the first collective fails with an MPI truncation
    error, or worse, pairs up tensors of equal size but different meaning). Each rank sums a
    digest of its layout; the sum equals world x own digest on every rank only if all agree."""
    layout = [(name, t.shape, str(t.dtype)) for name, t in module._named_state("", True)]
    digest = np.frombuffer(hashlib.sha256(repr(layout).encode()).digest(), np.uint8)
    own = digest.astype(np.float64)
    summed = Tensor(own.copy())
    with no_grad():
        distributed.all_reduce(summed, op="sum")
    if not np.array_equal(summed.numpy(), own * distributed.world_size()):
        raise RuntimeError(
            f"DistributedDataParallel: the model on rank {distributed.rank()} differs from the "
            f"model on another rank (parameter and buffer names, shapes or dtypes); this rank "
            f"has {len(layout)} tensors, first {layout[:3]}"
        )
