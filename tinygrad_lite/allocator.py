"""How tinygrad_lite sets up the C allocator: under glibc's default malloc, a NumPy training loop
on Linux spends more time faulting pages in than doing arithmetic.

glibc serves blocks above its mmap threshold (128 KiB to start) with mmap and gives them back to
the OS when they are freed, and it trims free memory above 128 KiB off the top of its heap. A
training step frees and allocates the same large temporaries every time (a 784×256 float32
weight gradient is 784 KiB), so every page of them is faulted in again: about 870 page faults per
MLP step at batch 32. With both thresholds raised (mmap 64 MiB, trim 256 MiB), freed temporaries
stay in the heap and are reused. The hand-written NumPy MLP step went from 4.4 to 1.7 ms, and a
NumPy im2col CNN step from 19 to 8.8 ms (benchmarks/NOTES.md).

Our choice: `import tinygrad_lite` applies this once, for the whole process, where the C library
has `mallopt` (glibc). The price is memory: up to 256 MiB of freed blocks may stay with the
process instead of going back to the OS. Set TINYGRAD_LITE_MALLOC=default before the import to
keep the C library's own settings. `SETTING` says which one is in effect.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

ENVIRONMENT_VARIABLE = "TINYGRAD_LITE_MALLOC"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
MMAP_THRESHOLD, TRIM_THRESHOLD = 64 << 20, 256 << 20


def tune() -> str:
    """Raise the C library's mmap and trim thresholds; return the setting now in effect."""
    name = ctypes.util.find_library("c")
    if platform.system() != "Linux" or not name:
        return "default (no glibc)"
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None)
    if mallopt is None:
        return "default (no mallopt)"
    if mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD):
        return f"mallopt(mmap {MMAP_THRESHOLD >> 20} MiB, trim {TRIM_THRESHOLD >> 20} MiB)"
    return "default (mallopt refused)"


def configure_from_environment() -> str:
    """Apply the setting TINYGRAD_LITE_MALLOC asks for: 'tuned' (the default) or 'default'."""
    choice = os.environ.get(ENVIRONMENT_VARIABLE, "tuned")
    if choice == "default":
        return f"default ({ENVIRONMENT_VARIABLE}=default)"
    if choice != "tuned":
        raise ValueError(f"{ENVIRONMENT_VARIABLE} must be 'tuned' or 'default', got {choice!r}")
    return tune()


SETTING = configure_from_environment()
