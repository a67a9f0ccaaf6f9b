"""The one checked launcher: every kernel call goes through `launch`, which checks the arguments
against the kernel's signature (read from its .cu source), packs the scalars, picks the grid and
launches. The engine runs kernels for CuPy arrays of float32, float64, float16 and bfloat16
(`supported`); an op's
`forward` and its `backward_untracked` are the only callers, so nothing here knows about grad
mode. Given NumPy arrays instead, the same launch runs the kernel on the CPU emulation of the
CUDA model (emulation.py): that is how the tests execute every kernel without a GPU.
"""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module, is_cuda
from . import emulation, kernels
from .kernels import C_TYPES, Kernel, parameter_dtype, type_names

THREADS = 256  # a power of two: the block reductions (common.cuh) halve it
NULL = np.uint64(0)  # a null pointer argument, for an optional array the kernel does not read


def supported(*arrays) -> bool:
    """True when our kernels can take these arrays: CuPy arrays of one of the element types."""
    for a in arrays:  # NOTE: asked by every activation and update: NumPy arrays answer first
        if isinstance(a, np.ndarray) or not is_cuda(a) or a.dtype.name not in C_TYPES:
            return False
    return True


def contiguous(*arrays):
    """The arrays as C-contiguous arrays (copies only where needed), for kernel inputs."""
    xp = get_array_module(*arrays)
    return [xp.ascontiguousarray(a) for a in arrays]


def launch(kernel: Kernel, dtypes, work: int, *args, shared_per_thread: int = 0,
           blocks_for=None, threads: int = THREADS) -> None:  # fmt: skip
    """Run the instantiation of `kernel` for `dtypes` (the element type T, or a tuple (T, G) for
    a kernel with two type parameters) over `work` items (grid-stride loops cover the rest),
    after checking `args` against its signature. The grid has one thread per item, up to
    32 blocks per multiprocessor; `blocks_for(most)` chooses another count (at most `most`).
    Blocks have `threads` threads and `shared_per_thread · threads` bytes of shared memory.

    Raises:
        TypeError: a wrong number of arguments, an array of the wrong dtype, a missing array, an
            instantiation the kernel does not have.
        ValueError: an array that is not C-contiguous (the kernels index it flat).
    """
    types = type_names(dtypes)
    if types not in kernel.instantiations:
        have = ", ".join("/".join(t) for t in kernel.instantiations)
        raise TypeError(f"{kernel}: no instantiation for {'/'.join(types)} (it has {have})")
    packed = pack_arguments(kernel, types, args)
    if work == 0:
        return
    on_cpu = _on_cpu(kernel, packed)
    most = 32 * (emulation.MULTIPROCESSORS if on_cpu else _multiprocessors())
    blocks = min((work + threads - 1) // threads, most) if blocks_for is None else blocks_for(most)
    compiled = emulation.compiled if on_cpu else kernels.compiled
    compiled(kernel, types)((blocks,), (threads,), packed, shared_mem=shared_per_thread * threads)


def _on_cpu(kernel: Kernel, packed) -> bool:
    """True for NumPy arrays (the CPU emulation), False for CuPy arrays; never a mix."""
    kinds = {isinstance(a, np.ndarray) for a in packed if not isinstance(a, np.generic)}
    if len(kinds) > 1:
        raise TypeError(f"{kernel}: arrays mix NumPy (CPU) and CuPy (GPU)")
    return kinds == {True}


def pack_arguments(kernel: Kernel, dtypes, args) -> tuple:
    """The arguments as the kernel takes them, checked: arrays of the signature's dtype and
    C-contiguous, None only where the kernel accepts a null pointer, scalars converted."""
    types = type_names(dtypes)
    parameters = kernel.parameters
    if len(args) != len(parameters):
        expected = ", ".join(p.name for p in parameters)
        raise TypeError(
            f"{kernel}: takes {len(parameters)} arguments ({expected}), got {len(args)}"
        )
    packed = []
    for parameter, value in zip(parameters, args):
        want = parameter_dtype(parameter, types)
        if parameter.kind == "scalar":
            packed.append(want.type(value))
        elif value is None:
            if parameter.name not in kernel.optional:
                raise TypeError(f"{kernel}: argument {parameter.name!r} is required, got None")
            packed.append(NULL)
        else:
            _check_array(kernel, parameter.name, value, want)
            packed.append(value)
    return tuple(packed)


def _check_array(kernel: Kernel, name: str, value, dtype: np.dtype) -> None:
    if not hasattr(value, "dtype") or not hasattr(value, "flags"):
        raise TypeError(f"{kernel}: argument {name!r} must be an array, got {type(value).__name__}")
    if value.dtype != dtype:
        raise TypeError(f"{kernel}: argument {name!r} must be {dtype}, got {value.dtype}")
    if not value.flags.c_contiguous:
        raise ValueError(f"{kernel}: argument {name!r} must be C-contiguous")


def _multiprocessors() -> int:
    import cupy

    return cupy.cuda.Device().attributes["MultiProcessorCount"]
