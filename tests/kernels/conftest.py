import pytest

from tinygrad_lite import ops, optim
from tinygrad_lite.cuda import kernels


@pytest.fixture
def engine_on_emulated_kernels(monkeypatch):
    """The engine taking its GPU branches with NumPy arrays: every op and optimizer that has a
    kernel launches it, through the same launchers, on the CPU emulation."""

    def supported(*arrays):
        return all(getattr(getattr(a, "dtype", None), "name", None) in kernels.C_TYPES
                   for a in arrays)  # fmt: skip

    for module in (ops.activation, ops.loss, ops.conv, ops.shape, ops.normalization,
                   ops.attention, optim.optimizers):  # fmt: skip
        monkeypatch.setattr(module, "supported", supported)
