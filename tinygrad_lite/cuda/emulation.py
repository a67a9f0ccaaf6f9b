"""Our CUDA kernels executed on the CPU, for tests on machines without a GPU.

Each .cu file, its real source with every template instantiation the engine launches, is
compiled by the host C++ compiler against kernels/cpu_emulation.cuh (the CUDA execution model:
blocks, threads as fibers, real barriers, shared memory) into a shared library, with one C entry
point per instantiation. `compiled(kernel, dtype)` returns a callable with the interface of a
CuPy RawKernel, `fn(grid, block, args, shared_mem=0)`, taking NumPy arrays; the one checked
launcher (launch.py) calls it when the arrays are NumPy arrays, so the launchers' argument
packing, dtype dispatch, grid and shared-memory sizing run unchanged. Libraries are cached by a
hash of the sources, in `TINYGRAD_LITE_EMULATION_CACHE` or the temp folder.

A seed (`set_seed`) fixes the order in which the threads of a block run between barriers; a
kernel that misses a `__syncthreads()` gives wrong results for most orders.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .kernels import C_TYPES, KERNEL_DIR, Kernel, signature, source, templates

# The GPU a test machine pretends to be: 1 multiprocessor, so the launcher's grid stays small and
# grid-stride loops make several passes over arrays of a few tens of thousands of elements.
MULTIPROCESSORS = 1
_C_SCALAR = {np.dtype(np.int32): "int", np.dtype(np.int64): "long long"}
_seed = [0]


class EmulationError(RuntimeError):
    """The kernel could not be compiled or run on the CPU (the message says why)."""


def compiler() -> str | None:
    """The host C++ compiler (CXX, else g++ or clang++), or None."""
    for name in (os.environ.get("CXX"), "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def available() -> bool:
    return compiler() is not None


def set_seed(seed: int) -> None:
    """The thread order used by later launches (each launch also varies it per block phase)."""
    _seed[0] = int(seed)


def _c_type(dtype, types: tuple[str, ...]) -> str:
    if dtype in ("T", "G"):
        return C_TYPES[types[0 if dtype == "T" else 1]]
    if dtype == "acc":
        return f"acc_t<{C_TYPES[types[0]]}>"
    return _C_SCALAR[np.dtype(dtype)]


def _entry_name(kernel_name: str, types: tuple[str, ...]) -> str:
    return f"tl_emulated_{kernel_name}_{'_'.join(types)}"


def _wrappers(file: str) -> str:
    """One extern "C" entry point per instantiation: unpack void* arguments, launch the fibers."""
    lines = []
    for kernel in templates()[file]:
        for types in kernel.instantiations:
            arguments = []
            for i, p in enumerate(signature(file, kernel.name)):
                c_type = _c_type(p.dtype, types)
                pointer = f"({c_type}*)a[{i}]"
                arguments.append(pointer if p.kind == "array" else f"*{pointer}")
            entry = _entry_name(kernel.name, types)
            lines.append(
                f'extern "C" int {entry}(void** a, unsigned gx, unsigned gy, unsigned gz,'
                " unsigned bx, unsigned by, unsigned bz, unsigned long long shared, "
                "unsigned seed) {\n"
                "    return emu::launch(dim3{gx, gy, gz}, dim3{bx, by, bz}, shared, seed, [&] {\n"
                f"        {kernel.instance(types)}({', '.join(arguments)});\n"
                "    });\n}"
            )
    return "\n".join(lines) + "\n"


def program(file: str) -> str:
    """The C++ translation unit for `file`: its source (header pasted in) and the entry points."""
    return source(file) + "\n// ---- entry points for the CPU emulation ----\n" + _wrappers(file)


@functools.cache
def library(file: str) -> ctypes.CDLL:
    """The compiled library of `file` (its source and entry points), built once per source hash."""
    return build(program(file), Path(file).stem)


def build(text: str, stem: str = "kernels") -> ctypes.CDLL:
    """Compile a C++ translation unit (kernel source plus entry points, see `program`) against
    cpu_emulation.cuh into a shared library, cached by a hash of the text."""
    cxx = compiler()
    if cxx is None:
        raise EmulationError("emulating CUDA kernels needs a C++ compiler (g++ or clang++)")
    header = (KERNEL_DIR / "cpu_emulation.cuh").read_text()
    digest = hashlib.sha256((text + header + cxx).encode()).hexdigest()[:16]
    default = Path(tempfile.gettempdir()) / "tinygrad_lite_emulation"
    cache = Path(os.environ.get("TINYGRAD_LITE_EMULATION_CACHE", default))
    cache.mkdir(parents=True, exist_ok=True)
    built = cache / f"{stem}-{digest}.so"
    if not built.exists():
        source_path = cache / f"{stem}-{digest}.{os.getpid()}.cpp"
        source_path.write_text(text)
        partial = built.with_suffix(f".{os.getpid()}.tmp")
        command = [cxx, "-std=c++17", "-O2", "-shared", "-fPIC", "-w", f"-I{KERNEL_DIR}",
                   "-o", str(partial), str(source_path)]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
        source_path.unlink()
        if result.returncode != 0:
            raise EmulationError(f"compiling {stem} for the CPU failed:\n{result.stderr[-4000:]}")
        os.replace(partial, built)  # NOTE: atomic, so parallel test runs never load a partial file
    return ctypes.CDLL(str(built))


class EmulatedKernel:
    """One instantiation, callable like a CuPy RawKernel: fn(grid, block, args, shared_mem=0)."""

    def __init__(self, kernel: Kernel, types: tuple[str, ...],
                 compiled_library: ctypes.CDLL | None = None):  # fmt: skip
        self.kernel = kernel
        compiled_library = compiled_library or library(kernel.file)
        self.entry = getattr(compiled_library, _entry_name(kernel.name, types))
        self.entry.restype = ctypes.c_int

    def __call__(self, grid, block, args, shared_mem: int = 0) -> None:
        keep, pointers = [], (ctypes.c_void_p * max(len(args), 1))()
        for i, value in enumerate(args):
            if isinstance(value, np.ndarray):
                pointers[i] = value.ctypes.data
            elif isinstance(value, np.uint64) and value == 0:  # the launcher's NULL
                pointers[i] = None
            else:  # a scalar, already of the kernel's type: pass a pointer to a copy of it
                holder = np.array(value)
                keep.append(holder)
                pointers[i] = holder.ctypes.data
        grid, block = (tuple(d) + (1,) * (3 - len(d)) for d in (grid, block))
        status = self.entry(pointers, *map(ctypes.c_uint, (*grid, *block)),
                            ctypes.c_ulonglong(shared_mem), ctypes.c_uint(_seed[0]))  # fmt: skip
        if status:
            raise EmulationError(
                f"{self.kernel}: the threads of a block reached different numbers of "
                "__syncthreads() (some left the kernel while others waited)"
            )


@functools.cache
def compiled(kernel: Kernel, types: tuple[str, ...]) -> EmulatedKernel:
    return EmulatedKernel(kernel, types)
