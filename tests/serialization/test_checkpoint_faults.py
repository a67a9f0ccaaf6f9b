"""Checkpoints are all-or-nothing: any key round-trips, a damaged or foreign file is refused as a
whole with a ValueError saying what it is, loads validate before they write, and a killed save
leaves nothing that piles up."""

import os
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


def _state():
    return {"model": {"w": np.arange(12.0).reshape(3, 4), "b": np.ones(4, np.float32)},
            "step": 5, "groups": [{"lr": 0.1}, {"lr": 0.2}]}  # fmt: skip


@pytest.mark.parametrize("key", ["allow_pickle", "file", "args", "kwds", "a b", "ünï", "x.npy"])
def test_any_string_key_round_trips(tmp_path, key):
    tl.save({key: np.ones(2), "nested": {key: 3}}, tmp_path / "k.npz")
    loaded = tl.load(tmp_path / "k.npz")
    assert loaded[key].tolist() == [1, 1] and loaded["nested"][key] == 3


def test_every_single_byte_flip_is_refused_or_loads_whole(tmp_path):
    path = tmp_path / "c.npz"
    tl.save(_state(), path)
    data = path.read_bytes()
    whole, refused = 0, 0
    for i in range(0, len(data), max(1, len(data) // 600)):
        spoiled = bytearray(data)
        spoiled[i] ^= 0xFF
        path.write_bytes(bytes(spoiled))
        try:
            loaded = tl.load(path)
        except ValueError:
            refused += 1
            continue
        np.testing.assert_array_equal(loaded["model"]["w"], _state()["model"]["w"])
        assert loaded["step"] == 5 and [g["lr"] for g in loaded["groups"]] == [0.1, 0.2]
        whole += 1
    assert refused > 0


def test_truncated_files_are_refused(tmp_path):
    path = tmp_path / "c.npz"
    tl.save(_state(), path)
    data = path.read_bytes()
    for size in (0, 10, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:size])
        with pytest.raises(ValueError, match="not a valid tinygrad_lite checkpoint"):
            tl.load(path)


def _crafted(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in members.items():
            with archive.open(name, "w") as member:
                if isinstance(array, bytes):
                    member.write(array)
                else:
                    np.lib.format.write_array(member, np.asarray(array))


@pytest.mark.parametrize(
    "members, message",
    [
        ({"g/#0/lr.npy": 1.0, "g/#2/lr.npy": 2.0}, "list entries"),
        ({"a.npy": 1.0, "a/b.npy": 2.0}, "nests inside the array"),
        ({"a.npy": 1.0, "notes.txt": b"hello"}, "not a .npy array"),
    ],
)
def test_crafted_archives_are_refused(tmp_path, members, message):
    path = tmp_path / "crafted.npz"
    _crafted(path, members)
    with pytest.raises(ValueError, match="no manifest"):
        tl.load(path)
    with pytest.raises(ValueError, match=message):
        tl.load(path, verify=False)


def test_foreign_files_say_what_they_are(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(3))
    with pytest.raises(ValueError, match="single .npy array"):
        tl.load(tmp_path / "a.npy")
    _crafted(tmp_path / "torch.pt", {"archive/data.pkl": b"\x80\x02}q\x00."})
    with pytest.raises(ValueError, match="PyTorch file"):
        tl.load(tmp_path / "torch.pt")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a zip archive"):
        tl.load(tmp_path / "text.npz")


def test_a_real_torch_save_file_is_refused_clearly(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, tmp_path / "model.pt")
    with pytest.raises(ValueError, match="PyTorch file"):
        tl.load(tmp_path / "model.pt")


def test_plain_npz_loads_with_verify_false(tmp_path):
    np.savez(tmp_path / "plain.npz", w=np.ones(2))
    assert tl.load(tmp_path / "plain.npz", verify=False)["w"].tolist() == [1, 1]


def test_stale_temporaries_of_killed_saves_are_removed(tmp_path):
    target = tmp_path / "ckpt.npz"
    script = (
        "import os, signal, numpy as np, tinygrad_lite as tl\n"
        "import tinygrad_lite.serialization as s\n"
        "def die(*a, **k): os.kill(os.getpid(), signal.SIGKILL)\n"
        "s._write_archive = die\n"
        f"tl.save({{'w': np.ones(3)}}, {str(target)!r})\n"
    )
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True)
        assert result.returncode == -signal.SIGKILL
    assert len(list(tmp_path.glob(".ckpt.npz.*.tmp"))) == 1  # each save removed the one before
    live = tmp_path / f".ckpt.npz.{os.getpid()}.keep.tmp"  # a save still running here
    live.write_bytes(b"")
    tl.save({"w": np.ones(3)}, target)
    assert [p.name for p in tmp_path.glob(".ckpt.npz.*.tmp")] == [live.name]
    assert tl.load(target)["w"].tolist() == [1, 1, 1]


def test_module_load_state_dict_checks_castability_before_writing():
    model = nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 2))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    for bad in (np.full((2, 4), "oops"), np.array([[None] * 4] * 2, dtype=object)):
        state = dict(before)
        state["1.bias"] = before["1.bias"] + 1  # valid, and would be written first by set order
        state["0.weight"] = bad
        with pytest.raises(ValueError, match="0.weight"):
            model.load_state_dict(state)
        for key, value in model.state_dict().items():
            np.testing.assert_array_equal(value, before[key])
