"""im2col and col2im split large batches over threads (tl.backend.over_batch): the results
equal the single-threaded ones, errors and NumPy's error settings reach the caller, and a forked
child (whose parent's threads are gone) still gets its work done."""

import multiprocessing
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import backend
from tinygrad_lite.ops.conv import Window, col2im, im2col

RNG = np.random.default_rng(0)
LARGE = RNG.standard_normal((16, 8, 40, 40)).astype(np.float32)  # 1.8M window elements


def _both_ways(function):
    results = []
    for threshold in (backend.PARALLEL_ELEMENTS, 1 << 60):
        saved, backend.PARALLEL_ELEMENTS = backend.PARALLEL_ELEMENTS, threshold
        try:
            results.append(function())
        finally:
            backend.PARALLEL_ELEMENTS = saved
    return results


@pytest.mark.parametrize("window", [Window.of(3, 1, 1, 1), Window.of(3, 1, 2, 2)], ids=str)
def test_threaded_im2col_and_col2im_equal_one_piece(window):
    threaded, single = _both_ways(lambda: im2col(np, LARGE, window))
    assert threaded.size >= backend.PARALLEL_ELEMENTS
    np.testing.assert_array_equal(threaded, single)
    threaded, single = _both_ways(lambda: col2im(np, single, LARGE.shape, window))
    np.testing.assert_array_equal(threaded, single)


def test_a_part_that_fails_raises_in_the_caller():
    def work(part):
        if part[0, 0] > 0:
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        backend.over_batch(work, 1 << 30, np.arange(8.0).reshape(4, 2)[::-1].copy())


def test_threads_run_with_the_callers_error_settings():
    def work(part):
        part *= np.float32(1e38)  # overflows

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore"):
            backend.over_batch(work, 1 << 30, np.full((4, 1000), 1e38, np.float32))
        with np.errstate(over="raise"), pytest.raises(FloatingPointError):
            backend.over_batch(work, 1 << 30, np.full((4, 1000), 1e38, np.float32))


def _convolve_in_child(queue):
    x = tl.Tensor(LARGE, requires_grad=True)
    tl.nn.functional.conv2d(x, tl.ones(4, 8, 3, 3), padding=1).sum().backward()
    queue.put(float(x.grad.numpy().sum()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_a_forked_child_gets_its_own_threads():
    tl.nn.functional.conv2d(tl.Tensor(LARGE), tl.ones(4, 8, 3, 3), padding=1)  # parent's pool
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_convolve_in_child, args=(queue,))
    child.start()
    child.join(60)
    assert child.exitcode == 0 and np.isfinite(queue.get(timeout=5))
