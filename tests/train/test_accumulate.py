"""Gradient accumulation: fit(..., accumulate=k) steps once per k batches and equals training
on the concatenated batches (a shorter last group included); a non-finite loss skips its whole
group; and a hand-written loop's pattern (docs below) gives the same."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.train import fit


def _train(batch_size, accumulate, samples=40, loss_fn=nn.functional.cross_entropy, **options):
    tl.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, 3))
    y = rng.integers(0, 2, samples)
    loader = data.DataLoader(data.TensorDataset(x, y), batch_size=batch_size)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(dtype=np.float64)
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, loader, optimizer, loss_fn, epochs=2, progress=False, log=None,
                  accumulate=accumulate, **options)  # fmt: skip
    return model.state_dict(), history


@pytest.mark.parametrize("samples", [40, 36], ids=["even groups", "a shorter last group"])
def test_accumulating_small_batches_equals_the_large_batch(samples):
    large, large_history = _train(batch_size=16, accumulate=1, samples=samples)
    small, small_history = _train(batch_size=4, accumulate=4, samples=samples)
    for key in large:
        np.testing.assert_allclose(small[key], large[key], rtol=1e-10, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(small_history["loss"], large_history["loss"], rtol=1e-10)


def test_a_nonfinite_loss_skips_the_whole_group():
    """16 samples in batches of 4, groups of 2: 2 steps an epoch; the third batch's NaN skips
    the second group of epoch 1 (the fourth batch is never run), 3 steps in all."""
    calls, steps = [], []

    def third_batch_explodes(outputs, targets):
        calls.append(1)
        loss = nn.functional.cross_entropy(outputs, targets)
        return loss * np.inf if len(calls) == 3 else loss

    original = optim.Adam.step
    optim.Adam.step = lambda self: (steps.append(1), original(self))[1]
    try:
        with pytest.warns(RuntimeWarning, match="update is skipped"):
            _train(batch_size=4, accumulate=2, samples=16, loss_fn=third_batch_explodes,
                   on_nonfinite="warn")  # fmt: skip
    finally:
        optim.Adam.step = original
    assert len(steps) == 3 and len(calls) == 7


def test_accumulate_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="accumulate must be an integer >= 1"):
        _train(batch_size=4, accumulate=0)
