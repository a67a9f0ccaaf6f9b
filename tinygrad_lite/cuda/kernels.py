"""Finding, compiling and caching the CUDA C sources in kernels/.

Each .cu file holds templates over the element type; `TEMPLATES` names the instantiations we
launch, so CuPy compiles exactly those (`cupy.RawModule(name_expressions=...)`) and the tests can
compile the same list with nvcc on a machine without a GPU. Modules are compiled once per file and
element type, then cached (CuPy also caches the binaries on disk).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

# In the source tree tinygrad_lite/kernels is a link to the top-level kernels/; a wheel holds
# the files themselves there.
KERNEL_DIR = Path(__file__).resolve().parents[1] / "kernels"
HEADER = "common.cuh"
C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
ACTIVATIONS = {"relu": 0, "leaky_relu": 1, "sigmoid": 2, "tanh": 3, "gelu": 4}

TEMPLATES = {
    "activation.cu": [
        f"activation_{way}<{code}, {{T}}>"
        for code in ACTIVATIONS.values()
        for way in ("forward", "backward")
    ],
    "softmax_xent.cu": ["softmax_xent_forward<{T}>", "softmax_xent_backward<{T}>"],
    "optim.cu": ["sgd_update<{T}>", "adam_update<{T}>", "rmsprop_update<{T}>"],
    "im2col.cu": [
        "im2col<{T}>",
        "col2im<{T}>",
        "max_pool_forward<{T}>",
        "max_pool_backward<{T}>",
    ],
    "reduce.cu": ["sum_to<{T}>"],
}


def kernel_files() -> list[Path]:
    return sorted(KERNEL_DIR.glob("*.cu"))


def source(file: str) -> str:
    """The file's text with the shared header pasted in (so NVRTC needs no include path and
    CuPy's cache key covers the header too)."""
    header = (KERNEL_DIR / HEADER).read_text()
    return (KERNEL_DIR / file).read_text().replace(f'#include "{HEADER}"', header)


def names(file: str, c_type: str) -> list[str]:
    return [template.format(T=c_type) for template in TEMPLATES[file]]


def instantiation_source(file: str) -> str:
    """The file plus host code taking each kernel's address, which makes nvcc instantiate (and
    so type-check) every template that CuPy would compile; used by the nvcc tests."""
    pointers = [f"(void*)&{name}" for c in C_TYPES.values() for name in names(file, c)]
    return source(file) + "\nvoid* tinygrad_lite_kernels[] = {" + ", ".join(pointers) + "};\n"


@functools.cache
def _module(file: str, c_type: str):
    import cupy

    return cupy.RawModule(
        code=source(file), options=("--std=c++14",), name_expressions=names(file, c_type)
    )


def function(file: str, template: str, dtype):
    """The compiled kernel `template` (with {T} for the element type) from `file`, for `dtype`."""
    c_type = C_TYPES[np.dtype(dtype)]
    return _module(file, c_type).get_function(template.format(T=c_type))
