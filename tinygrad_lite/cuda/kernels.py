"""Finding, reading and compiling the CUDA C sources in kernels/, and the signatures in them.

A `Kernel` names one template in one .cu file (`Kernel("activation.cu", "relu_forward")`); the
family modules beside this one (activation.py, softmax_xent.py, optim.py, im2col.py, reduce.py,
layer_norm.py, attention.py) declare theirs, and `templates()` collects them, so CuPy compiles
exactly those (`cupy.RawModule(name_expressions=...)`) and the tests compile the same list with
nvcc on a machine without a GPU. A kernel's parameters are read from its `__global__` signature
in the source, so the launcher checks every call against the real code. Modules are compiled once
per file, then cached (CuPy also caches the binaries on disk). Every kernel has float, double,
half_t (float16) and bfloat16_t instantiations; the optimizer updates instead pair a float32 or
float64 parameter with a gradient of the same or a 16-bit type.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..backend import bfloat16

_PACKAGE = Path(__file__).resolve().parents[1]
# A wheel carries the .cu files inside the package (tinygrad_lite/kernels/); a source checkout
# (an editable install) has them in the top-level kernels/ folder.
KERNEL_DIR = next(p for p in (_PACKAGE / "kernels", _PACKAGE.parent / "kernels") if p.is_dir())
HEADER = "common.cuh"
# NumPy dtype name -> the C type of the kernels' element type T (kernels/common.cuh defines the
# 16-bit storage types; their arithmetic runs in float)
C_TYPES = {"float32": "float", "float64": "double", "float16": "half_t", "bfloat16": "bfloat16_t"}
ACCUMULATE = {"float16": "float32", "bfloat16": "float32"}  # acc_t<T>; otherwise T itself
# cuda/<family>.py
FAMILIES = ("activation", "softmax_xent", "optim", "im2col", "reduce", "layer_norm", "attention")

# C parameter types -> the dtype the launcher expects: a NumPy dtype, or one of the kernel's type
# parameters ("T", "G"), or "acc" for acc_t<T>
_C_PARAMETER_TYPES = {"T": "T", "G": "G", "acc_t<T>": "acc", "int": np.dtype(np.int32),
                      "index_t": np.dtype(np.int64), "long long": np.dtype(np.int64)}  # fmt: skip


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # "array" or "scalar"
    dtype: object  # np.dtype, or "T", "G", "acc": resolved by the instantiation's types


@dataclass(frozen=True)
class Kernel:
    """One `template <typename T[, typename G]> __global__ void name(...)` of `file`, compiled for
    each tuple of dtype names in `instantiations` (by default T in every element type);
    `optional` names the pointer parameters that may be null (the kernel checks them)."""

    file: str
    name: str
    optional: tuple[str, ...] = ()
    instantiations: tuple[tuple[str, ...], ...] = tuple((name,) for name in C_TYPES)

    def instance(self, types: tuple[str, ...]) -> str:
        """The C++ name of one instantiation, e.g. `relu_forward<half_t>`."""
        return f"{self.name}<{', '.join(C_TYPES[t] for t in types)}>"

    @property
    def instances(self) -> list[str]:
        return [self.instance(types) for types in self.instantiations]

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        return signature(self.file, self.name)

    def __str__(self) -> str:
        return f"{self.file}:{self.name}"


def type_names(dtypes) -> tuple[str, ...]:
    """A dtype, or a tuple of them (one per template parameter), as a tuple of dtype names."""
    if not isinstance(dtypes, tuple):
        dtypes = (dtypes,)
    return tuple(d if isinstance(d, str) else np.dtype(d).name for d in dtypes)


def numpy_dtype(name: str) -> np.dtype:
    return bfloat16() if name == "bfloat16" else np.dtype(name)


def accumulate_dtype(dtype) -> np.dtype:
    """acc_t<T>: the dtype a kernel computes (and returns per-row results) in for element type
    `dtype`: float32 for float16 and bfloat16, the dtype itself otherwise."""
    name = type_names(dtype)[0]
    return numpy_dtype(ACCUMULATE.get(name, name))


def parameter_dtype(parameter: Parameter, types: tuple[str, ...]) -> np.dtype:
    """The dtype one argument must have in the instantiation `types` (T first, then G)."""
    if parameter.dtype == "T":
        return numpy_dtype(types[0])
    if parameter.dtype == "G":
        return numpy_dtype(types[1])
    if parameter.dtype == "acc":
        return accumulate_dtype(types[0])
    return parameter.dtype


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
def templates() -> dict[str, list[Kernel]]:
    """{file: the kernels we launch from it}, collected from the family modules."""
    found: dict[str, list[Kernel]] = {}
    for family in FAMILIES:
        module = importlib.import_module(f"tinygrad_lite.cuda.{family}")
        for kernel in module.KERNELS:
            found.setdefault(kernel.file, []).append(kernel)
    return found


def names(file: str) -> list[str]:
    """Every instantiation CuPy compiles from `file`."""
    return [name for kernel in templates()[file] for name in kernel.instances]


def instantiation_source(file: str) -> str:
    """The file plus host code taking each kernel's address, which makes nvcc instantiate (and
    so type-check) every template that CuPy would compile; used by the nvcc tests."""
    pointers = [f"(void*)&{name}" for name in names(file)]
    return source(file) + "\nvoid* tinygrad_lite_kernels[] = {" + ", ".join(pointers) + "};\n"


@functools.cache
def _module(file: str):
    import cupy

    return cupy.RawModule(code=source(file), options=("--std=c++14",), name_expressions=names(file))


def compiled(kernel: Kernel, types: tuple[str, ...]):
    """The compiled instantiation of `kernel` for the dtype names `types` (a CuPy RawKernel)."""
    return _module(kernel.file).get_function(kernel.instance(types))
