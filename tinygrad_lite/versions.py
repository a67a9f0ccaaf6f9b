"""What a tensor's memory has been through: a version counter per block of memory (shared by
its views), and `Structure`, a count of changes to what models are made of. Tensor-agnostic."""

from __future__ import annotations


class Structure:
    """A count of changes to what a model is made of: attribute assignments on any Module (layers,
    parameters, train/eval mode) and requires_grad switches. tl.jit rechecks a captured step's
    modules only when it moved."""

    version = 0


class VersionCounter:
    """How often one block of memory was changed in place, shared by every Tensor on it.

    A view (`a[0:2]`, `a.reshape(...)`, `a.T`) and `a.detach()` share `a`'s counter, as in
    PyTorch, so writing through any of them is seen by backward, which refuses to use a tensor
    whose version moved after an op recorded it. `recorded`: some op recorded a tensor on this
    memory for backward, so `.numpy()` hands out a read-only view. `aliased`: more than one
    Tensor sees this memory, so `x += y` cannot simply rebind `x` (see `Tensor.__iadd__`).
    """

    __slots__ = ("value", "recorded", "aliased")

    def __init__(self):
        self.value, self.recorded, self.aliased = 0, False, False


def share_memory_state(y, sources) -> None:
    """Let `y` share the version counter of the source whose memory it views, if any."""
    data = y.data
    owner = data if data.base is None else data.base
    for x in sources:
        if x.data is owner or x.data.base is owner:  # x owns y's memory, or views it too
            y._counter = x._counter
            x._counter.aliased = True
            return
