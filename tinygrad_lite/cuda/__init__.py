"""tl.cuda: is a GPU usable, and our own CUDA kernels (kernels/*.cu) for the hot ops.

Importing tinygrad_lite never imports CuPy; these functions do, when asked. Tensors go to the GPU
with `x.to("cuda")` / `model.to("cuda")`; every op then runs on CuPy arrays, and the ops that have
a fused kernel of ours (activations, softmax cross-entropy, optimizer steps, im2col/col2im,
max-pool, sum_to) launch it.
"""

from __future__ import annotations

from ..backend import require_cupy


def is_available() -> bool:
    """True when CuPy is installed and sees at least one NVIDIA GPU."""
    try:
        require_cupy()
    except RuntimeError:
        return False
    return True


def device_count() -> int:
    """Number of visible GPUs (0 without CuPy or a driver)."""
    return require_cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def get_device_name() -> str:
    """The current GPU's name, e.g. 'NVIDIA H100 80GB HBM3'."""
    cupy = require_cupy()
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else name


def synchronize() -> None:
    """Wait for every queued kernel to finish (time GPU work only after this)."""
    require_cupy().cuda.Device().synchronize()
