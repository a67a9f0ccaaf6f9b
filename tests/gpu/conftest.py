"""GPU tests: each module skips itself where CuPy or a GPU is missing (CI has neither).

Run them on a GPU machine with `pytest tests/gpu`. Before each test the CuPy memory pool is
filled with NaN, so a kernel that leaves part of its output unwritten hands back NaN, which
every comparison here rejects.
"""

import pytest

import tinygrad_lite as tl


@pytest.fixture(autouse=True)
def poisoned_memory_pool():
    if not tl.cuda.is_available():
        yield
        return
    import cupy

    pool = cupy.get_default_memory_pool()
    pool.free_all_blocks()
    poison = cupy.full(64 * 2**20 // 8, cupy.nan, dtype=cupy.float64)  # 64 MiB of NaN
    del poison  # NOTE: back to the pool, not to the driver: later arrays are carved from it
    yield
    cupy.cuda.Device().synchronize()
