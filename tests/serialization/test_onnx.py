"""ONNX export, checked by onnx.checker and run by onnxruntime: E6, E7 and a model of every
exportable layer give our logits, at another batch size than the example's; what cannot be
exported is named."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.examples import e6_digits_mlp, e7_digits_cnn

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def every_layer():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, stride=2), nn.BatchNorm2d(4), nn.GELU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1, groups=2, dilation=1), nn.AvgPool2d(2, padding=1),
        nn.Flatten(), nn.Dropout(0.3), nn.Sequential(nn.Linear(4 * 4 * 4, 6), nn.LeakyReLU(0.2)),
        nn.Tanh(), nn.Identity(), nn.Sigmoid(), nn.ReLU(), nn.BatchNorm1d(6), nn.Softmax(1),
    )  # fmt: skip


@pytest.mark.parametrize("make", [e6_digits_mlp.make_model, e7_digits_cnn.make_model, every_layer],
                         ids=["E6", "E7", "every layer"])  # fmt: skip
def test_exported_models_give_our_outputs_in_onnxruntime(make, tmp_path):
    tl.manual_seed(0)
    model = make()
    model.train()
    model(tl.randn(8, 1, 28, 28))  # BatchNorm running statistics move
    x = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    path = tl.onnx.export(model, x[:2], tmp_path / "model.onnx")
    assert model.training  # the mode is restored
    session = ort.InferenceSession(str(path))
    (got,) = session.run(None, {"input": x})  # 5 samples: the batch axis is dynamic
    model.eval()
    np.testing.assert_allclose(got, model(tl.tensor(x)).numpy(), rtol=1e-5, atol=1e-5)


def test_unexportable_layers_are_named(tmp_path):
    with pytest.raises(ValueError, match="Embedding cannot be exported"):
        tl.onnx.export(nn.Sequential(nn.Embedding(10, 3)), np.zeros((2, 4), np.int64),
                       tmp_path / "m.onnx")  # fmt: skip
    with pytest.raises(ValueError, match="only Flatten\\(\\) of all but the batch axis"):
        tl.onnx.export(nn.Flatten(0), np.zeros((2, 3), np.float32), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


SEQUENCE_MODELS = {
    "LSTM, 2 layers, bidirectional": lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True),
    "LSTM, batch_first, no bias": lambda: nn.LSTM(3, 4, bias=False, batch_first=True),
    "GRU, batch_first": lambda: nn.GRU(3, 4, batch_first=True),
    "GRU, bidirectional": lambda: nn.GRU(3, 2, bidirectional=True),
    "RNN relu, 2 layers": lambda: nn.RNN(3, 4, num_layers=2, nonlinearity="relu"),
    "RNN tanh, bidirectional, batch_first": lambda: nn.RNN(3, 4, bidirectional=True,
                                                          batch_first=True),
    "attention, batch_first": lambda: nn.MultiheadAttention(8, 2, batch_first=True),
    "attention, sequence first, no bias": lambda: nn.MultiheadAttention(8, 4, bias=False),
}  # fmt: skip


def _ours(model, x):
    if isinstance(model, nn.MultiheadAttention):
        return [model(x, x, x, need_weights=False)[0].numpy()]
    output, state = model(x)
    return [output.numpy(), *(s.numpy() for s in (state if isinstance(state, tuple) else [state]))]


@pytest.mark.parametrize("make", SEQUENCE_MODELS.values(), ids=SEQUENCE_MODELS.keys())
def test_recurrent_layers_and_attention_give_our_outputs_in_onnxruntime(make, tmp_path):
    tl.manual_seed(0)
    model = make()
    width = 8 if isinstance(model, nn.MultiheadAttention) else 3
    x = np.random.default_rng(0).standard_normal((5, 6, width)).astype(np.float32)
    path = tl.onnx.export(model, x[:2, :3], tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path))
    got = session.run(None, {"input": x})  # batch and sequence lengths other than the example's
    names = [o.name for o in session.get_outputs()]
    assert names[0] == "output" and names[1:] in ([], ["h_n"], ["h_n", "c_n"])
    for ours, theirs in zip(_ours(model, x), got, strict=True):
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6)


def test_layer_norm_and_rms_norm_in_a_sequential_give_our_outputs(tmp_path):
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8), nn.GELU(), nn.RMSNorm((3, 8), eps=1e-3),
                          nn.LayerNorm(8, elementwise_affine=False), nn.Linear(8, 2))  # fmt: skip
    for parameter in model.parameters():  # LayerNorm's ones and zeros would hide a swap
        parameter.data[...] = np.random.default_rng(1).standard_normal(parameter.shape)
    x = np.random.default_rng(0).standard_normal((5, 3, 8)).astype(np.float32)
    path = tl.onnx.export(model, x[:2], tmp_path / "model.onnx")
    (got,) = ort.InferenceSession(str(path)).run(None, {"input": x})
    np.testing.assert_allclose(got, model(tl.tensor(x)).numpy(), rtol=1e-5, atol=1e-5)


def test_unbatched_sequences_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="LSTM needs a batched"):
        tl.onnx.export(nn.LSTM(3, 4), np.zeros((5, 3), np.float32), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
