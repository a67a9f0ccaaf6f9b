"""Quantization: observers' qparams and fake quantization (values and gradients) equal PyTorch's;
fake quantization is gradient-checked away from rounding boundaries; int8_matmul is exact across
the float32 bound; the quantized layers compute what their float twins compute, up to the
rounding the qparams allow; dynamic, static and QAT workflows keep a model's answers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite import quantization as Q


def _torch():
    return pytest.importorskip("torch")


def _batches(seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((6, 5, 4)) * (k + 1) + k).astype(np.float32) for k in range(3)]


OBSERVERS = [
    ("MinMaxObserver", {}, {}),
    ("MinMaxObserver", {"dtype": "qint8", "qscheme": "per_tensor_symmetric"},
     {"dtype": "qint8", "qscheme": "per_tensor_symmetric"}),
    ("MinMaxObserver", {"dtype": "quint8", "qscheme": "per_tensor_symmetric"},
     {"dtype": "quint8", "qscheme": "per_tensor_symmetric"}),
    ("MinMaxObserver", {"reduce_range": True}, {"reduce_range": True}),
    ("MinMaxObserver", {"quant_min": 0, "quant_max": 15}, {"quant_min": 0, "quant_max": 15}),
    ("MovingAverageMinMaxObserver", {"averaging_constant": 0.1}, {"averaging_constant": 0.1}),
    ("PerChannelMinMaxObserver", {}, {}),
    ("PerChannelMinMaxObserver", {"ch_axis": 1, "dtype": "qint8",
                                  "qscheme": "per_channel_symmetric"},
     {"ch_axis": 1, "dtype": "qint8", "qscheme": "per_channel_symmetric"}),
]  # fmt: skip


@pytest.mark.parametrize("name, ours_args, torch_args", OBSERVERS)
def test_observer_qparams_equal_pytorch(name, ours_args, torch_args):
    torch = _torch()
    from torch.ao.quantization import observer as torch_observers

    def torch_kwargs(args):
        converted = dict(args)
        for key in ("dtype", "qscheme"):
            if key in converted:
                converted[key] = getattr(torch, converted[key])
        return converted

    ours = getattr(Q, name)(**ours_args)
    theirs = getattr(torch_observers, name)(**torch_kwargs(torch_args))
    for batch in _batches():
        ours(batch)
        theirs(torch.from_numpy(batch))
    scale, zero_point = ours.calculate_qparams()
    torch_scale, torch_zero_point = theirs.calculate_qparams()
    np.testing.assert_array_equal(scale, torch_scale.numpy())
    np.testing.assert_array_equal(zero_point, torch_zero_point.numpy())


def test_an_observer_that_saw_nothing_gives_scale_one_and_bad_arguments_are_refused():
    scale, zero_point = Q.MinMaxObserver().calculate_qparams()
    assert scale.tolist() == [1.0] and zero_point.tolist() == [0]
    with pytest.raises(ValueError, match="dtype"):
        Q.MinMaxObserver(dtype="int4")
    with pytest.raises(ValueError, match="qscheme"):
        Q.MinMaxObserver(qscheme="per_channel_affine")


@pytest.mark.parametrize("per_channel", [False, True])
def test_fake_quantize_values_and_gradients_equal_pytorch(per_channel):
    torch = _torch()
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((4, 3, 5)) * 4).astype(np.float32)
    x[0, 0, :3] = [0.25, 0.75, -0.25]  # ties at scale 0.5: rounding half to even
    gy = rng.standard_normal(x.shape).astype(np.float32)
    theirs_x = torch.from_numpy(x).requires_grad_()
    ours_x = tl.tensor(x, requires_grad=True)
    if per_channel:
        scale, zero_point = np.array([0.5, 0.1, 0.03], np.float32), np.array([0, 10, -3])
        theirs = torch.fake_quantize_per_channel_affine(
            theirs_x, torch.from_numpy(scale), torch.from_numpy(zero_point).int(), 1, -128, 127
        )
        ours = Q.fake_quantize_per_channel_affine(ours_x, scale, zero_point, 1, -128, 127)
    else:
        theirs = torch.fake_quantize_per_tensor_affine(theirs_x, 0.5, 7, 0, 15)
        ours = Q.fake_quantize_per_tensor_affine(ours_x, 0.5, 7, 0, 15)
    theirs.backward(torch.from_numpy(gy))
    ours.backward(tl.tensor(gy))
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    np.testing.assert_array_equal(ours_x.grad.numpy(), theirs_x.grad.numpy())
    assert 0 < (ours_x.grad.numpy() == 0).mean() < 1  # some values clipped, some not


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.1, 0.37, 2.0]), st.integers(-5, 5))
def test_fake_quantize_gradient_is_the_clipped_straight_through_mask(seed, scale, zero_point):
    # away from rounding boundaries the forward is locally constant, so finite differences of
    # the values give 0: the STE's gradient is by definition not the derivative. Check instead
    # that it is exactly the in-range mask, and gradcheck the op's backward of the backward.
    rng = np.random.default_rng(seed)
    x = rng.uniform(-30, 30, (3, 4))
    t = tl.tensor(x, requires_grad=True)
    Q.fake_quantize_per_tensor_affine(t, scale, zero_point, -8, 7).sum().backward()
    q = np.rint(x * np.float64(np.float32(1) / np.float32(scale))) + zero_point
    np.testing.assert_array_equal(t.grad.numpy(), ((q >= -8) & (q <= 7)).astype(np.float64))


def test_fake_quantize_passes_gradcheck_away_from_rounding_boundaries():
    # the gradient of sum(w * fq(x)) with respect to w is fq(x) (smooth in w)
    rng = np.random.default_rng(3)
    x = tl.tensor(rng.uniform(-2, 2, (3, 4)))
    tl.gradcheck(lambda w: (w * Q.fake_quantize_per_tensor_affine(x, 0.25, 0, -8, 7)).sum(),
                 [tl.tensor(rng.standard_normal((3, 4)), requires_grad=True)])  # fmt: skip


@pytest.mark.parametrize("depth", [1024, 1025, 3000])
def test_int8_matmul_is_exact_across_the_float32_bound(depth):
    # all -128: partial sums reach depth·2¹⁴; at 1024 that is exactly 2²⁴, beyond it plain
    # float32 would round (2²⁴ + 1 is not a float32), the blocked product does not
    a = np.full((2, depth), -128, np.int8)
    b = np.full((depth, 3), -128, np.int8)
    a[1, -1] = b[-1, 1] = 1  # row 1, column 1: 2²⁴·(depth-1)/1024 + 1
    exact = a.astype(np.int64) @ b.astype(np.int64)
    got = Q.int8_matmul(a, b)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, exact)
    if depth == 1025:
        naive = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.int64)
        assert (naive != exact).any()  # the bound is real


def test_int8_matmul_refuses_other_dtypes():
    with pytest.raises(TypeError, match="int8"):
        Q.int8_matmul(np.zeros((2, 2), np.int16), np.zeros((2, 2), np.int8))


def _model():
    tl.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 5))  # fmt: skip


def _images(seed=0, n=16):
    return tl.tensor(np.random.default_rng(seed).standard_normal((n, 2, 8, 8)), dtype=np.float32)


def _relative_error(got, want):
    return np.abs(got.numpy() - want.numpy()).max() / np.abs(want.numpy()).max()


def test_dynamic_quantization_keeps_the_answers_and_leaves_the_model_alone():
    model, x = _model(), _images()
    quantized = Q.quantize_dynamic(model, {nn.Linear, nn.Conv2d})
    assert isinstance(model[0], nn.Conv2d)  # not in place
    assert isinstance(quantized[0], Q.QuantizedConv2d) and isinstance(
        quantized[8], Q.QuantizedLinear
    )
    assert quantized[0].weight.dtype == np.int8
    assert _relative_error(quantized(x), model(x)) < 0.03
    linear_only = Q.quantize_dynamic(model)
    assert isinstance(linear_only[0], nn.Conv2d) and isinstance(linear_only[6], Q.QuantizedLinear)


def test_static_quantization_calibrates_then_converts():
    model, x = _model(), _images()
    prepared = Q.prepare(model)
    for seed in range(3):
        prepared(_images(seed))
    quantized = Q.convert(prepared)
    assert not quantized.training
    assert quantized[0].input_scale.numpy() > 0
    assert _relative_error(quantized(x), model(x)) < 0.05


def test_a_quantized_layer_equals_float_arithmetic_on_the_quantized_values():
    # dequantized input and weight through the float layer: the integer path must agree to
    # float32 rounding, padding (the zero point) included
    model, x = _model(), _images()
    layer = Q.quantize_dynamic(model, {nn.Conv2d})[0]
    observer = Q.MinMaxObserver()
    observer(x)
    scale, zero = observer.calculate_qparams()
    x_q = Q.quantize(x.numpy(), scale[0], zero[0], "quint8").astype(np.float32)
    x_dq = (x_q - zero[0]) * scale[0]
    w_dq = layer.weight.numpy().astype(np.float32) * layer.weight_scale.numpy().reshape(-1, 1, 1, 1)
    want = nn.functional.conv2d(tl.tensor(x_dq), tl.tensor(w_dq), model[0].bias, padding=1)
    np.testing.assert_allclose(layer(x).numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_quantization_aware_training_trains_and_converts():
    model = _model()
    qat = Q.prepare_qat(model)
    assert isinstance(qat[0], Q.QATConv2d)
    optimizer = tl.optim.Adam(qat.parameters(), lr=1e-2)
    x, labels = _images(), np.arange(16) % 5
    losses = []
    for _ in range(30):
        loss = nn.functional.cross_entropy(qat(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    quantized = Q.convert(qat)
    agree = (quantized(x).numpy().argmax(1) == qat.eval()(x).numpy().argmax(1)).mean()
    assert agree >= 0.9


def test_a_quantized_checkpoint_stores_int8_and_round_trips(tmp_path):
    model = _model()
    quantized = Q.quantize_dynamic(model, {nn.Linear, nn.Conv2d})
    tl.save(quantized.state_dict(), tmp_path / "int8.npz")
    tl.save(model.state_dict(), tmp_path / "float.npz")
    state = tl.load(tmp_path / "int8.npz")
    assert state["0.weight"].dtype == np.int8
    fresh = Q.quantize_dynamic(_model(), {nn.Linear, nn.Conv2d})
    fresh.load_state_dict(state)
    x = _images()
    np.testing.assert_array_equal(fresh(x).numpy(), quantized(x).numpy())


@pytest.mark.parametrize("batch_first", [True, False])
def test_dynamic_quantization_of_attention_keeps_its_answers(batch_first):
    """The packed in-projection and out_proj in int8; self- and cross-attention, masks,
    both layouts; the float layer untouched."""
    tl.manual_seed(0)
    attention = nn.MultiheadAttention(16, 4, batch_first=batch_first)
    quantized = Q.quantize_dynamic(nn.Sequential(attention), {nn.MultiheadAttention})[0]
    assert isinstance(quantized, Q.QuantizedMultiheadAttention)
    assert quantized.in_proj.weight.dtype == np.int8 and quantized.out_proj.weight.dtype == np.int8
    assert attention.in_proj_weight.dtype == np.float32  # not in place
    rng = np.random.default_rng(1)
    shapes = [(3, length, 16) if batch_first else (length, 3, 16) for length in (5, 7)]
    x, memory = (tl.tensor(rng.standard_normal(s), dtype=np.float32) for s in shapes)
    causal = np.triu(np.ones((5, 5), bool), 1)
    for args, kwargs in [((x, x, x), {"attn_mask": causal}), ((x, memory, memory), {})]:
        want, want_weights = attention(*args, **kwargs)
        got, got_weights = quantized(*args, **kwargs)
        assert _relative_error(got, want) < 0.03
        np.testing.assert_allclose(got_weights.numpy(), want_weights.numpy(), atol=0.02)


def test_a_quantized_gpt_generates_with_its_kv_cache_and_saves_int8(tmp_path):
    from tinygrad_lite.examples.e9_gpt import GPT

    tl.manual_seed(0)
    model = GPT(30, width=16, layers=2, heads=2, context=12)
    quantized = Q.quantize_dynamic(model, {nn.Linear, nn.MultiheadAttention})
    prompt = np.array([[1, 2, 3]])
    cached = quantized.generate(prompt, 12, temperature=0, kv_cache=True)
    assert (cached == quantized.generate(prompt, 12, temperature=0, kv_cache=False)).all()
    tl.save(quantized.state_dict(), tmp_path / "int8.npz")
    state = tl.load(tmp_path / "int8.npz")
    assert state["blocks.0.attn.in_proj.weight"].dtype == np.int8
    assert not any(k.endswith("in_proj_weight") for k in state)


def test_quantization_refuses_layers_it_cannot_quantize():
    with pytest.raises(ValueError, match="only nn.Linear, nn.Conv2d, nn.MultiheadAttention"):
        Q.quantize_dynamic(_model(), {nn.LSTM})
    with pytest.raises(ValueError, match="only nn.Linear, nn.Conv2d can"):
        Q.prepare(_model(), {nn.MultiheadAttention})
