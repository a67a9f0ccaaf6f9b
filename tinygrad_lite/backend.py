"""Every difference between NumPy and CuPy lives here, so each op is written once against `xp`.

Ops never import CuPy and never test `xp is np`; where the two libraries differ, a helper goes here.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def install_hint(packages: str, extra: str) -> str:
    """How to install what an optional feature needs: the packages themselves, or the extra
    that brings them from a checkout (tinygrad_lite is not on a package index)."""
    return f'pip install {packages} (from a checkout: pip install -e ".[{extra}]")'


def bfloat16() -> np.dtype:
    """NumPy's bfloat16 dtype, from the ml_dtypes package (JAX's), or an ImportError saying what
    to install. Imported only when asked for."""
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError(
            f"bfloat16 needs the ml_dtypes package: {install_hint('ml_dtypes', 'amp')}"
        ) from None
    return np.dtype(ml_dtypes.bfloat16)


def is_floating(dtype) -> bool:
    """True for float16/32/64 and bfloat16 (whose NumPy kind is 'V', not 'f')."""
    dtype = np.dtype(dtype)
    return dtype.kind == "f" or (dtype.name == "bfloat16" and "ml_dtypes" in sys.modules)


def machine_epsilon(dtype) -> float:
    """The spacing of floats just above 1 (np.finfo's eps; ml_dtypes' for bfloat16)."""
    dtype = np.dtype(dtype)
    if dtype.name == "bfloat16":
        import ml_dtypes

        return float(ml_dtypes.finfo(dtype).eps)
    return float(np.finfo(dtype).eps)


def low_precision(dtype) -> bool:
    """float16 or bfloat16: the 16-bit floats of mixed precision."""
    return np.dtype(dtype).itemsize == 2 and is_floating(dtype)  # NOTE: size first, cheaper


def get_array_module(*arrays):
    """`cupy` if any argument is a CuPy array, else `numpy` (CuPy's own name for this helper).

    If CuPy was never imported, no argument can be a CuPy array, so this costs one dict lookup.
    """
    cp = sys.modules.get("cupy")
    if cp is not None and any(isinstance(a, cp.ndarray) for a in arrays):
        return cp
    return np


def check_same_device(op: str, arrays) -> None:
    """Raise if `arrays` mix NumPy and CuPy, naming the op and each input's device and shape."""
    if "cupy" in sys.modules and len({device_of(a) for a in arrays}) > 1:
        shown = ", ".join(f"{device_of(a)} {a.shape}" for a in arrays)
        raise RuntimeError(f"{op}: inputs are on different devices ({shown})")


def device_of(array) -> str:
    """'cuda' for a CuPy array, 'cpu' for everything else."""
    return "cpu" if get_array_module(array) is np else "cuda"


def is_cuda(array) -> bool:
    """True for a CuPy array: the ops that have a CUDA kernel of our own take it then."""
    return get_array_module(array) is not np


# NOTE: the same words as the README's "On a GPU" section
CUDA_INSTALL_HINT = (
    'install CuPy for your CUDA version: in the tinygrad_lite checkout, pip install -e ".[cuda13]" '
    '(CUDA 13) or pip install -e ".[cuda12]" (CUDA 12)'
)


def parse_device(device) -> str:
    """'cpu' or 'cuda' from 'cpu', 'cuda', 'cuda:0' or a Tensor's .device; anything else raises."""
    name = str(device).lower()
    if name == "cpu":
        return "cpu"
    if name in ("cuda", "cuda:0", "gpu"):
        return "cuda"
    raise ValueError(f"unknown device {device!r}; use 'cpu' or 'cuda'")


def require_cupy():
    """The cupy module, or a RuntimeError saying what to install or why no GPU can be used."""
    try:
        import cupy
    except ImportError as error:
        raise RuntimeError(f"device 'cuda' needs CuPy, which is not installed; "
                           f"{CUDA_INSTALL_HINT}") from error  # fmt: skip
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # NOTE: CuPy raises its own CUDARuntimeError with no GPU/driver
        raise RuntimeError(
            f"device 'cuda': CuPy is installed but CUDA is not usable ({error})"
        ) from error
    if count == 0:
        raise RuntimeError("device 'cuda': CuPy is installed but no NVIDIA GPU was found")
    return cupy


def to_device(array, device: str):
    """`array` on `device` ('cpu' or 'cuda'); the same object when it is already there."""
    device = parse_device(device)
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    return require_cupy().asarray(array)


def read_only(array):
    """A read-only view of a NumPy array (CuPy arrays have no such flag: returned as they are)."""
    if not isinstance(array, np.ndarray) or not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view


def nudge_one_ulp(array, rng):
    """A float array with each element moved to a neighbouring representable value, up or down
    at random (`rng`: a NumPy Generator); other arrays unchanged."""
    if array.dtype.name == "bfloat16":
        return _nudge_bfloat16(array, rng)
    if array.dtype.kind != "f":
        return array
    xp = get_array_module(array)
    up = xp.asarray(rng.random(array.shape) < 0.5)
    return xp.nextafter(array, xp.where(up, xp.inf, -xp.inf).astype(array.dtype))


def _nudge_bfloat16(array, rng):
    """nextafter for bfloat16, which NumPy does not know: ±1 on the bit pattern moves a finite,
    non-zero value to a neighbour (sign and magnitude are separate bits); 0, inf, NaN and the
    largest value stay as they are."""
    xp = get_array_module(array)
    bits = array.view(xp.uint16)
    magnitude = bits & 0x7FFF
    movable = (magnitude > 0) & (magnitude < 0x7F7F)
    step = xp.asarray(np.where(rng.random(array.shape) < 0.5, 1, -1).astype(np.int32))
    moved = (bits.astype(xp.int32) + xp.where(movable, step, 0)).astype(xp.uint16)
    return moved.view(array.dtype)


def scatter_add(xp, target, index, values) -> None:
    """target[index] += values, repeated indices accumulating (plain `+=` keeps only one)."""
    if xp is np:
        np.add.at(target, index, values)
    else:
        import cupyx

        cupyx.scatter_add(target, index, values)


def erf(xp, x):
    """Elementwise error function. NumPy has none, so use SciPy when installed, else math.erf."""
    if xp is not np:
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    try:
        from scipy.special import erf as scipy_erf
    except (
        ImportError
    ):  # NOTE: the core depends on NumPy only; math.erf is exact but slow per element
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    if x.dtype not in (np.float32, np.float64):  # float16, bfloat16: SciPy computes in float32
        return scipy_erf(x).astype(x.dtype, copy=False)
    x = x if x.flags.c_contiguous else x.copy()  # NOTE: not ascontiguousarray: it makes 0-d 1-d
    out = np.empty_like(x)
    over_batch(lambda part, into: scipy_erf(part, out=into), x.size * ERF_COST, x.reshape(-1),
               out.reshape(-1))  # fmt: skip
    return out


# Work below this many elements runs in one piece: starting threads costs more than it saves
# (im2col of 128×1×28×28 images, 0.9M elements, measured slower in two threads; 1.8M faster).
PARALLEL_ELEMENTS = 1 << 20
# SciPy's erf costs about what ten copies of its input do (measured: 9 ms for 393k float32 values,
# np.exp 1 ms), so an erf counts ten times its size towards that threshold (GELU in E9's GPT)
ERF_COST = 10


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@functools.cache
def _threads() -> ThreadPoolExecutor | None:
    return ThreadPoolExecutor(_cores(), "tinygrad_lite") if _cores() > 1 else None


if hasattr(os, "register_at_fork"):  # NOTE: a forked child has none of the parent's threads:
    os.register_at_fork(after_in_child=_threads.cache_clear)  # its pool would wait forever


def over_batch(work, elements: int, *arrays) -> None:
    """work(*parts) on parts of the arrays' first (batch) axis: one part per core, in threads,
    where `elements` (the size of the work) pays for them, else once on the whole arrays.

    For NumPy loops of large copies and sums (im2col, col2im), which release the GIL but run on
    one core; `work` must write only into its own parts. Each thread runs with the caller's
    NumPy error settings."""
    pool, batch = _threads(), arrays[0].shape[0]
    small = elements < PARALLEL_ELEMENTS or batch < 2
    if pool is None or small or not isinstance(arrays[0], np.ndarray):  # NOTE: CuPy: one stream
        work(*arrays)
        return
    parts = min(_cores(), batch)
    bounds = [batch * i // parts for i in range(parts + 1)]
    settings = np.geterr()

    def run(part: int) -> None:
        with np.errstate(**settings):
            work(*(a[bounds[part] : bounds[part + 1]] for a in arrays))

    list(pool.map(run, range(parts)))  # NOTE: list() waits, and raises what a part raised
