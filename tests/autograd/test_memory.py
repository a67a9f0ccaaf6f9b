"""Training loops must hold steady memory: the tape is freed after each backward."""

import numpy as np

import tinygrad_lite as tl

from ..memory import assert_steady_memory


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
    tl.manual_seed(0)
    w1 = tl.randn(8, 16, requires_grad=True)
    w2 = tl.randn(16, 1, requires_grad=True)
    x, target = tl.randn(32, 8), tl.randn(32, 1)
    assert_steady_memory(lambda: _train_step(w1, w2, x, target))
    assert np.isfinite(w1.numpy()).all()
