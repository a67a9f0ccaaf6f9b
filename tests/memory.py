"""The steady-memory check shared by the training-loop tests."""

import gc
import tracemalloc

import numpy as np


def _fill_allocator_caches() -> None:
    """CPython keeps freed objects for reuse (up to 2000 tuples of each length, 80 lists and
    dicts, 100 floats) and NumPy keeps freed shape/stride buffers and small data blocks. Objects
    freed into those caches while tracing still count as traced memory: bounded, but up to
    ~100 KB of apparent growth depending on the step's pattern of allocations. Fill them first."""
    for length in range(1, 25):
        held = [tuple(range(length)) for _ in range(2100)]
        del held
    held = [([i], {i: i}, float(i) + 0.5) for i in range(200)]
    del held
    for ndim in range(1, 17):
        held = [np.empty((1,) * ndim) for _ in range(80)]
        del held
    for size in range(1, 1025):
        held = [np.empty(size, np.uint8) for _ in range(8)]
        del held


def assert_steady_memory(step, steps: int = 10_000, traced: int = 1_000, warmup: int = 200) -> None:
    """Run `step` `steps` times after a warm-up: live objects must not pile up over all of them,
    and traced bytes must not grow by more than 8 bytes per step (a leak of one small object per
    step is caught) in each of two windows of `traced` steps at the end; the smaller growth of
    the two counts. Tracing starts 1,000 steps before them: CPython's and NumPy's caches of
    freed objects fill slowly under tracing, and what they hold counts as traced memory until
    they are full (bounded, up to ~20 KB here), which a leak is not."""
    for _ in range(warmup):  # warm up caches (NumPy, the Python allocator)
        step()
    gc.collect()
    objects_before = len(gc.get_objects())
    warm_traced = min(1_000, steps - 2 * traced)
    for _ in range(steps - 2 * traced - warm_traced):
        step()
    tracemalloc.start()
    _fill_allocator_caches()
    for _ in range(warm_traced):
        step()
    growth = []
    for _window in range(2):
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(traced):
            step()
        gc.collect()
        growth.append(tracemalloc.get_traced_memory()[0] - before)
    tracemalloc.stop()
    assert min(growth) < 8 * traced, f"traced memory grew by {growth} bytes over {traced} steps"
    assert len(gc.get_objects()) - objects_before < 100, "objects pile up across steps"
