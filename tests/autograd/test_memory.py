"""Training loops must hold steady memory: the tape is freed after each backward."""

import gc
import tracemalloc

import numpy as np

import tinygrad_lite as tl


def _train_step(w1, w2, x, target):
    hidden = (x @ w1).tanh()
    loss = ((hidden @ w2 - target) ** 2).mean()
    loss.backward()
    with tl.no_grad():
        for w in (w1, w2):
            w -= 0.01 * w.grad
            w.zero_grad()
    return loss.item()


def test_10000_training_steps_hold_steady_memory():
    """Object counts over all 10,000 steps; traced bytes over the last 2,000 (tracing is slow)."""
    tl.manual_seed(0)
    w1 = tl.randn(8, 16, requires_grad=True)
    w2 = tl.randn(16, 1, requires_grad=True)
    x, target = tl.randn(32, 8), tl.randn(32, 1)
    for _ in range(200):  # warm up caches (NumPy, the Python allocator)
        _train_step(w1, w2, x, target)
    gc.collect()
    objects_before = len(gc.get_objects())
    for _ in range(8_000):
        _train_step(w1, w2, x, target)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(2_000):
        _train_step(w1, w2, x, target)
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 16 * 1024, f"traced memory grew by {grown} bytes over 2,000 steps"
    assert len(gc.get_objects()) - objects_before < 100, "objects pile up across steps"
    assert np.isfinite(w1.numpy()).all()
