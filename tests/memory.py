"""The steady-memory check shared by the training-loop tests."""

import gc
import tracemalloc


def assert_steady_memory(step, steps: int = 10_000, traced: int = 2_000, warmup: int = 200) -> None:
    """Run `step` `steps` times after a warm-up: live objects must not pile up over all of them,
    and traced bytes must not grow over the last `traced` (tracing is slow, so not all)."""
    for _ in range(warmup):  # warm up caches (NumPy, the Python allocator)
        step()
    gc.collect()
    objects_before = len(gc.get_objects())
    for _ in range(steps - traced):
        step()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(traced):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 16 * 1024, f"traced memory grew by {grown} bytes over {traced} steps"
    assert len(gc.get_objects()) - objects_before < 100, "objects pile up across steps"
