"""Finding, reading and compiling the CUDA C sources in kernels/, and the signatures in them.

A `Kernel` names one template in one .cu file (`Kernel("activation.cu", "relu_forward")`); the
family modules beside this one (activation.py, softmax_xent.py, optim.py, im2col.py, reduce.py)
declare theirs, and `templates()` collects them, so CuPy compiles exactly those
(`cupy.RawModule(name_expressions=...)`) and the tests compile the same list with nvcc on a
machine without a GPU. A kernel's parameters are read from its `__global__` signature in the
source, so the launcher checks every call against the real code. Modules are compiled once per
file and element type, then cached (CuPy also caches the binaries on disk).
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_PACKAGE = Path(__file__).resolve().parents[1]
# A wheel carries the .cu files inside the package (tinygrad_lite/kernels/); a source checkout
# (an editable install) has them in the top-level kernels/ folder.
KERNEL_DIR = next(p for p in (_PACKAGE / "kernels", _PACKAGE.parent / "kernels") if p.is_dir())
HEADER = "common.cuh"
C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
FAMILIES = ("activation", "softmax_xent", "optim", "im2col", "reduce")  # cuda/<family>.py

# C parameter types -> what the launcher expects: ("array" | "scalar", dtype or "T")
_C_PARAMETER_TYPES = {"T": "T", "int": np.dtype(np.int32), "index_t": np.dtype(np.int64),
                      "long long": np.dtype(np.int64)}  # fmt: skip


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # "array" or "scalar"
    dtype: object  # np.dtype, or "T" for the element type the kernel is instantiated with


@dataclass(frozen=True)
class Kernel:
    """One `template <typename T> __global__ void name(...)` of `file`; `optional` names the
    pointer parameters that may be null (the kernel checks them)."""

    file: str
    name: str
    optional: tuple[str, ...] = ()

    @property
    def template(self) -> str:
        return f"{self.name}<{{T}}>"

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        return signature(self.file, self.name)

    def __str__(self) -> str:
        return f"{self.file}:{self.name}"


def kernel_files() -> list[Path]:
    return sorted(KERNEL_DIR.glob("*.cu"))


def source(file: str) -> str:
    """The file's text with the shared header pasted in (so NVRTC needs no include path and
    CuPy's cache key covers the header too)."""
    header = (KERNEL_DIR / HEADER).read_text()
    return (KERNEL_DIR / file).read_text().replace(f'#include "{HEADER}"', header)


@functools.cache
def signature(file: str, name: str) -> tuple[Parameter, ...]:
    """The parameters of `__global__ void name(...)` in `file`, read from the source."""
    match = re.search(rf"__global__\s+void\s+{name}\s*\(([^)]*)\)", source(file))
    if match is None:
        raise LookupError(f"{file} has no kernel {name!r}")
    parameters = []
    for text in match.group(1).split(","):
        text = " ".join(text.replace("__restrict__", "").replace("const", "").split())
        pointer = "*" in text
        c_type, _, name_ = text.replace("*", " ").rpartition(" ")
        dtype = _C_PARAMETER_TYPES[" ".join(c_type.split())]
        parameters.append(Parameter(name_, "array" if pointer else "scalar", dtype))
    return tuple(parameters)


@functools.cache
def templates() -> dict[str, list[str]]:
    """{file: the templates we launch from it}, collected from the family modules."""
    found: dict[str, list[str]] = {}
    for family in FAMILIES:
        module = importlib.import_module(f"tinygrad_lite.cuda.{family}")
        for kernel in module.KERNELS:
            found.setdefault(kernel.file, []).append(kernel.template)
    return found


def names(file: str, c_type: str) -> list[str]:
    return [template.format(T=c_type) for template in templates()[file]]


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


def compiled(kernel: Kernel, dtype):
    """The compiled kernel for element type `dtype` (a CuPy RawKernel)."""
    c_type = C_TYPES[np.dtype(dtype)]
    return _module(kernel.file, c_type).get_function(kernel.template.format(T=c_type))
