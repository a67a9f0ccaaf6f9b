"""fit and evaluate stop on what would silently waste a run: a loss that turns NaN, a loader
that yields nothing; a DataLoader's shuffle state resumes with the model."""

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.train import evaluate, fit


def _setup(lr=0.1, samples=32, drop_last=False):
    tl.manual_seed(0)
    x, y = data.two_blobs(samples)
    loader = data.DataLoader(data.TensorDataset(x, y), batch_size=8, drop_last=drop_last)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    return model, loader, optim.SGD(model.parameters(), lr=lr)


def _exploding_loss(outputs, targets):
    return nn.functional.mse_loss(outputs, targets) * np.float32(np.inf)


def test_fit_stops_at_a_nonfinite_loss_naming_the_step_and_keeps_the_parameters():
    model, loader, optimizer = _setup()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(FloatingPointError, match="epoch 1, step 1"):
        fit(model, loader, optimizer, _exploding_loss, epochs=3, progress=False, log=None)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_fit_can_warn_and_skip_nonfinite_steps():
    model, loader, optimizer = _setup()
    with pytest.warns(RuntimeWarning, match="update is skipped"):
        history = fit(model, loader, optimizer, _exploding_loss, 1, progress=False,
                      log=None, on_nonfinite="warn")  # fmt: skip
    assert np.isnan(history["loss"][0])
    assert all(np.isfinite(v).all() for v in model.state_dict().values())


def test_fit_and_evaluate_on_an_empty_loader_say_so():
    model, loader, optimizer = _setup(samples=10, drop_last=True)
    loader.batch_size = 32
    loss = nn.functional.binary_cross_entropy_with_logits
    with pytest.raises(ValueError, match="yielded no batches"):
        fit(model, loader, optimizer, loss, 1, progress=False, log=None)
    with pytest.raises(ValueError, match="yielded no batches"):
        evaluate(model, loader, loss)


def test_a_resumed_loader_continues_the_shuffle_instead_of_replaying_it(tmp_path):
    x = np.arange(20.0).reshape(20, 1)
    loader = data.DataLoader(data.TensorDataset(x), batch_size=20, shuffle=True, seed=1)
    next(iter(loader))  # epoch 1
    tl.save({"loader": loader.state_dict()}, tmp_path / "ckpt.npz")
    (expected,) = next(iter(loader))  # epoch 2 of the uninterrupted run
    resumed = data.DataLoader(data.TensorDataset(x), batch_size=20, shuffle=True, seed=1)
    resumed.load_state_dict(tl.load(tmp_path / "ckpt.npz")["loader"])
    (got,) = next(iter(resumed))
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    with pytest.raises(ValueError, match="not a loader state"):
        resumed.load_state_dict({"rng": "garbage"})


@pytest.mark.parametrize("batch_size", [2.5, None, "8", True])
def test_data_loader_refuses_a_batch_size_that_is_not_an_integer(batch_size):
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        data.DataLoader(data.TensorDataset(np.ones(4)), batch_size=batch_size)


def test_tensor_dataset_needs_an_array():
    with pytest.raises(ValueError, match="at least one array"):
        data.TensorDataset()


def test_fit_refuses_bad_settings():
    model, loader, optimizer = _setup()
    loss = nn.functional.binary_cross_entropy_with_logits
    with pytest.raises(ValueError, match="on_nonfinite"):
        fit(model, loader, optimizer, loss, 1, on_nonfinite="maybe")
    with pytest.raises(ValueError, match="epochs must be an integer >= 0"):
        fit(model, loader, optimizer, loss, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit(model, loader, optimizer, loss, 0, progress=False, log=None).records == []
