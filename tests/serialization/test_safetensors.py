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
    with pytest.warns(UserWarning, match="written by another program"):
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


def test_bfloat16_round_trips_as_the_formats_bf16(tmp_path):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    weights = np.linspace(-2, 2, 6).astype(ml_dtypes.bfloat16).reshape(2, 3)
    tl.save({"w": weights}, tmp_path / "b.safetensors")
    loaded = tl.load(tmp_path / "b.safetensors")["w"]
    assert loaded.dtype == ml_dtypes.bfloat16 and loaded.tobytes() == weights.tobytes()
    header_size = int.from_bytes((tmp_path / "b.safetensors").read_bytes()[:8], "little")
    header = (tmp_path / "b.safetensors").read_bytes()[8 : 8 + header_size]
    assert b'"dtype":"BF16"' in header


def test_a_flipped_data_byte_is_caught_by_the_manifest(tmp_path):
    path = tmp_path / "c.safetensors"
    tl.save({"w": np.arange(8, dtype=np.float32)}, path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # a bit of the last array's data
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="'w' differs from its manifest entry"):
        tl.load(path)
    assert tl.load(path, verify=False)["w"][6] != 6.0  # read anyway when asked


def test_a_file_written_elsewhere_loads_with_a_note(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.ones(3, np.float32)}, str(tmp_path / "other.safetensors"))
    with pytest.warns(UserWarning, match="written by another program"):
        assert tl.load(tmp_path / "other.safetensors")["w"].sum() == 3


def test_a_missing_package_is_named_not_blamed_on_the_file(tmp_path, monkeypatch):
    (tmp_path / "d.safetensors").write_bytes(b"\x10" + bytes(7) + b"{}" + bytes(14))
    monkeypatch.setitem(__import__("sys").modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match="need the safetensors package: pip install safetensors"):
        tl.load(tmp_path / "d.safetensors")


def _sequence_pairs(torch):
    """(ours, PyTorch's, an input for both) for each sequence model, with PyTorch's names."""
    from benchmarks import gpt
    from tinygrad_lite.examples.e9_gpt import GPT

    rng = np.random.default_rng(0)
    t = torch.nn
    tokens = rng.integers(0, gpt.VOCABULARY, (2, 9))
    sequence = rng.standard_normal((5, 2, 3)).astype(np.float32)
    return {
        "E9's GPT": (GPT(gpt.VOCABULARY, gpt.WIDTH, gpt.LAYERS, gpt.HEADS, gpt.CONTEXT),
                     gpt.torch_model(torch), tokens),
        "LSTM": (nn.LSTM(3, 4, num_layers=2, bidirectional=True),
                 t.LSTM(3, 4, num_layers=2, bidirectional=True), sequence),
        "GRU": (nn.GRU(3, 4), t.GRU(3, 4), sequence),
        "encoder layer": (nn.TransformerEncoderLayer(3, 1, 8, dropout=0.0),
                          t.TransformerEncoderLayer(3, 1, 8, dropout=0.0), sequence),
    }  # fmt: skip


def _output(result):
    return result[0] if isinstance(result, tuple) else result


@pytest.mark.parametrize("name", ["E9's GPT", "LSTM", "GRU", "encoder layer"])
def test_sequence_models_move_between_pytorch_and_us_with_pytorchs_names(name, tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file

    tl.manual_seed(0)
    ours, theirs, x = _sequence_pairs(torch)[name]
    ours.eval(), theirs.eval()
    assert set(ours.state_dict()) == set(theirs.state_dict())
    tl.save(ours.state_dict(), tmp_path / "ours.safetensors")
    theirs.load_state_dict(load_file(str(tmp_path / "ours.safetensors")))
    with torch.no_grad():
        expected = _output(theirs(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(_output(ours(x)).numpy(), expected, rtol=1e-5, atol=1e-5)

    with torch.no_grad():  # and back: PyTorch's weights, changed, into ours
        for p in theirs.parameters():
            p.add_(0.01 * torch.randn_like(p))
        expected = _output(theirs(torch.from_numpy(x))).numpy()
    save_file({k: v.contiguous() for k, v in theirs.state_dict().items()},
              str(tmp_path / "torch.safetensors"))  # fmt: skip
    with pytest.warns(UserWarning, match="written by another program"):
        ours.load_state_dict(tl.load(tmp_path / "torch.safetensors"))
    np.testing.assert_allclose(_output(ours(x)).numpy(), expected, rtol=1e-5, atol=1e-5)
