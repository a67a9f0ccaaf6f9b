import os

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim


def test_save_load_round_trip_of_nested_state(tmp_path):
    state = {
        "model": {"0.weight": tl.ones((2, 3)), "0.bias": np.arange(2.0)},
        "optimizer": {
            "state": {},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.99)}, {"lr": 0.2}],
        },
        "epoch": 7,
        "name": "mlp",
        "done": True,
    }
    path = tmp_path / "ckpt.npz"
    tl.save(state, path)
    loaded = tl.load(path)
    np.testing.assert_array_equal(loaded["model"]["0.weight"], np.ones((2, 3)))
    np.testing.assert_array_equal(loaded["model"]["0.bias"], [0, 1])
    assert loaded["optimizer"]["state"] == {}
    groups = loaded["optimizer"]["param_groups"]
    assert [g["lr"] for g in groups] == [0.1, 0.2]
    np.testing.assert_array_equal(groups[0]["betas"], [0.9, 0.99])
    assert loaded["epoch"] == 7 and loaded["name"] == "mlp" and loaded["done"] is True


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "ckpt.npz"
    tl.save({"a": np.ones(3)}, path)
    with pytest.raises(TypeError, match="'b' is a object"):
        tl.save({"a": np.zeros(3), "b": object()}, path)  # fails while writing
    np.testing.assert_array_equal(tl.load(path)["a"], np.ones(3))  # the old file is intact
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_save_refuses_keys_with_the_separator(tmp_path):
    for key in ("a/b", "#1", ""):
        with pytest.raises(ValueError, match="must be non-empty, without '/' or a leading '#'"):
            tl.save({key: 1}, tmp_path / "x.npz")


def test_load_corrupt_file_says_so(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="is not a valid tinygrad_lite checkpoint"):
        tl.load(path)
    with pytest.raises(FileNotFoundError):
        tl.load(tmp_path / "missing.npz")


def test_load_refuses_pickled_objects(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, evil=np.array([{"x": 1}], dtype=object))  # needs pickle to read back
    with pytest.raises(ValueError, match="not a valid tinygrad_lite checkpoint.*no manifest"):
        tl.load(path)
    with pytest.raises(ValueError, match="not a valid tinygrad_lite checkpoint.*pickle"):
        tl.load(path, verify=False)


def test_model_checkpoint_round_trip(tmp_path):
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    tl.save(model.state_dict(), tmp_path / "model.npz")
    tl.manual_seed(1)
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    other.load_state_dict(tl.load(tmp_path / "model.npz"))
    x = tl.randn(5, 3)
    np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())


def test_optimizer_resumes_from_a_checkpoint_exactly(tmp_path):
    def train(model, opt, steps, seed):
        rng = np.random.default_rng(seed)
        for _ in range(steps):
            x = tl.tensor(rng.standard_normal((8, 3)), dtype=np.float32)
            loss = (model(x) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    def fresh():
        tl.manual_seed(0)
        model = nn.Linear(3, 2)
        return model, optim.Adam(model.parameters(), lr=0.01, amsgrad=True)

    model, opt = fresh()
    train(model, opt, 5, seed=1)
    tl.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "c.npz")
    train(model, opt, 5, seed=2)

    resumed, resumed_opt = fresh()
    checkpoint = tl.load(tmp_path / "c.npz")
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["opt"])
    train(resumed, resumed_opt, 5, seed=2)
    for a, b in zip(model.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
