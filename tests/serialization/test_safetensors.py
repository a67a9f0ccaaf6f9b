"""safetensors files: tl.save/tl.load round trips, and weights move between PyTorch and us in
both directions with equal outputs (BatchNorm's num_batches_tracked included)."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

safetensors = pytest.importorskip("safetensors")


def test_round_trip_of_nested_state(tmp_path):
    state = {"model": {"w": np.arange(6.0).reshape(2, 3), "b": np.ones(2, np.float16)},
             "step": 7, "flag": True}  # fmt: skip
    tl.save(state, tmp_path / "c.safetensors")
    loaded = tl.load(tmp_path / "c.safetensors")
    np.testing.assert_array_equal(loaded["model"]["w"], state["model"]["w"])
    assert loaded["model"]["b"].dtype == np.float16 and loaded["step"] == 7 and loaded["flag"]


def test_bad_files_and_values_say_what_is_wrong(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a valid tinygrad_lite checkpoint"):
        tl.load(tmp_path / "bad.safetensors")
    with pytest.raises(ValueError, match="numeric arrays only"):
        tl.save({"name": "mlp"}, tmp_path / "s.safetensors")
    assert not (tmp_path / "s.safetensors").exists()


def _models(torch):
    ours = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 5))  # fmt: skip
    t = torch.nn
    theirs = t.Sequential(t.Conv2d(1, 4, 3), t.BatchNorm2d(4), t.ReLU(), t.Flatten(),
                          t.Linear(144, 5))  # fmt: skip
    return ours.eval(), theirs.eval()


def test_weights_move_between_pytorch_and_us(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file

    ours, theirs = _models(torch)
    theirs.train()
    theirs(torch.randn(8, 1, 8, 8))  # running statistics and num_batches_tracked move
    theirs.eval()
    save_file(theirs.state_dict(), str(tmp_path / "torch.safetensors"))
    ours.load_state_dict(tl.load(tmp_path / "torch.safetensors"))
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(tl.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)

    tl.manual_seed(1)
    ours, fresh = _models(torch)
    tl.save(ours.state_dict(), tmp_path / "ours.safetensors")
    fresh.load_state_dict(load_file(str(tmp_path / "ours.safetensors")))
    np.testing.assert_allclose(fresh(torch.from_numpy(x)).detach().numpy(),
                               ours(tl.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)  # fmt: skip
