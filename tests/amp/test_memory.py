"""Where mixed precision's memory goes: an E7 training step under autocast(float16) keeps its
saved activations and im2col windows in 16 bits, and the emulated tensor-core products widen
their operands in blocks, so the step's peak (tracemalloc, which sees NumPy's buffers) stays
at most 0.6x the float32 step's (measured 0.57x at batch 64)."""

import tracemalloc

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.examples import e7_digits_cnn


def _step_peak_bytes(dtype) -> int:
    tl.manual_seed(0)
    model = e7_digits_cnn.make_model()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    scaler = tl.amp.GradScaler(enabled=dtype is not None)
    x = tl.tensor(np.random.default_rng(0).standard_normal((64, 1, 28, 28)), dtype=np.float32)
    labels = np.random.default_rng(1).integers(0, 10, 64)

    def step():
        with tl.amp.autocast(dtype=dtype or np.float16, enabled=dtype is not None):
            loss = nn.functional.cross_entropy(model(x), labels)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    step()  # optimizer state and gradients exist from here on, in both runs
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_an_e7_float16_step_peaks_at_most_at_0_6_of_float32():
    ratio = _step_peak_bytes(np.float16) / _step_peak_bytes(None)
    assert ratio <= 0.6, f"float16 step peak is {ratio:.2f}x the float32 step's"
