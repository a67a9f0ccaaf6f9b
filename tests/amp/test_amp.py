"""Mixed precision: autocast's per-op dtypes (PyTorch's CUDA lists), tensor-core numerics on the
CPU, master weights, float16/bfloat16 dtypes and checkpoints, and GradScaler against
torch.amp.GradScaler step for step."""

import re

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

ml_dtypes = pytest.importorskip("ml_dtypes")
LOW = [np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)]

x = tl.randn(4, 3)
w = tl.randn(5, 3, requires_grad=True)
image = tl.randn(2, 1, 6, 6)
kernel = tl.randn(2, 1, 3, 3, requires_grad=True)
labels = np.array([0, 1, 2, 1])

LOW_OPS = {  # PyTorch's CUDA autocast "lower precision" list, the ops we have
    "matmul": lambda: x @ w.T,
    "linear": lambda: F.linear(x, w),
    "conv2d": lambda: F.conv2d(image, kernel),
}
FLOAT32_OPS = {  # PyTorch's CUDA autocast float32 list, the ops we have
    "exp": lambda: F.linear(x, w).exp(),
    "log": lambda: F.linear(x, w).abs().log(),
    "softmax": lambda: F.linear(x, w).softmax(),
    "log_softmax": lambda: F.linear(x, w).log_softmax(),
    "logsumexp": lambda: F.linear(x, w).logsumexp(axis=1),
    "sum": lambda: F.linear(x, w).sum(),
    "mean": lambda: F.linear(x, w).mean(),
    "var": lambda: F.linear(x, w).var(),
    "std": lambda: F.linear(x, w).std(),
    "cross_entropy": lambda: F.cross_entropy(F.linear(x, w), labels),
    "nll_loss": lambda: F.nll_loss(F.linear(x, w).log_softmax(), labels),
    "mse_loss": lambda: F.mse_loss(F.linear(x, w), np.zeros((4, 5), np.float32)),
    "l1_loss": lambda: F.l1_loss(F.linear(x, w), np.zeros((4, 5), np.float32)),
    "binary_cross_entropy": lambda: F.binary_cross_entropy(
        F.linear(x, w).sigmoid(), np.ones((4, 5), np.float32)),
    "binary_cross_entropy_with_logits": lambda: F.binary_cross_entropy_with_logits(
        F.linear(x, w), np.ones((4, 5), np.float32)),
    "kl_div": lambda: F.kl_div(F.linear(x, w).log_softmax(), np.full((4, 5), 0.2, np.float32)),
    "batch_norm": lambda: nn.BatchNorm1d(5)(F.linear(x, w)),
    "layer_norm": lambda: nn.LayerNorm(5)(F.linear(x, w)),
    "pow": lambda: F.linear(x, w) ** 2,
    "softplus": lambda: F.linear(x, w).softplus(),
}  # fmt: skip
PROMOTE_OPS = {  # everything else runs in the dtype of its inputs
    "relu": lambda: F.linear(x, w).relu(),
    "add": lambda: F.linear(x, w) + 1.0,
    "tanh": lambda: F.linear(x, w).tanh(),
}


def test_the_examples_cover_the_one_table_and_the_page_lists_it():
    """tl.amp.AUTOCAST is what the ops read; each entry is exercised here, and
    docs/derivations/amp.md names each under its rule."""
    table = tl.amp.AUTOCAST
    assert set(LOW_OPS) == {op for op, rule in table.items() if rule == "low"}
    assert set(FLOAT32_OPS) == {op for op, rule in table.items() if rule == "float32"}
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs/derivations/amp.md").read_text()
    low = re.search(r"\*\*Low dtype:\*\* (.*?)\.", page)[1]
    float32 = re.search(r"\*\*float32:\*\* (.*?)\.", page, re.S)[1]
    assert {n.strip() for n in low.split(",")} == set(LOW_OPS)
    names = re.sub(r"\s+", " ", float32).replace(" and ", ", ").split(",")
    assert {n.strip() for n in names} == set(FLOAT32_OPS)


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_autocast_per_op_dtypes(dtype):
    with tl.amp.autocast(dtype=dtype):
        for name, op in LOW_OPS.items():
            assert op().dtype == dtype, name
        for name, op in FLOAT32_OPS.items():
            assert op().dtype == np.float32, name
        for name, op in PROMOTE_OPS.items():
            assert op().dtype == dtype, name
    assert (x @ w.T).dtype == np.float32  # off outside the block


def test_master_weights_stay_float32_and_gradients_arrive_in_their_dtype():
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 3))
    with tl.amp.autocast(dtype=np.float16):
        loss = F.cross_entropy(model(x), labels[:4] % 3)
    loss.backward()
    for p in model.parameters():
        assert p.dtype == np.float32 and p.grad.dtype == np.float32


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_low_precision_products_accumulate_in_float32_like_tensor_cores(dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 300)), rng.standard_normal((300, 32))
    a_low, b_low = a.astype(dtype), b.astype(dtype)
    product = (tl.tensor(a_low) @ tl.tensor(b_low)).numpy()
    expected = (a_low.astype(np.float32) @ b_low.astype(np.float32)).astype(dtype)
    np.testing.assert_array_equal(product, expected)


def test_autocast_is_a_decorator_per_thread_and_can_be_disabled():
    @tl.amp.autocast(dtype=np.float16)
    def forward():
        return (x @ w.T).dtype

    assert forward() == np.float16
    with tl.amp.autocast(dtype=np.float16, enabled=False):
        assert (x @ w.T).dtype == np.float32
    with pytest.raises(ValueError, match="float16 or bfloat16"):
        tl.amp.autocast(dtype=np.float32)


def test_half_bfloat16_float_and_module_to():
    t = tl.tensor([1.0, 2.0], requires_grad=True)
    assert t.half().dtype == np.float16 and t.bfloat16().dtype == LOW[1]
    assert t.half().float().dtype == np.float32
    (t.bfloat16().float() * 2).sum().backward()
    assert t.grad.dtype == np.float32 and t.grad.tolist() == [2, 2]
    model = nn.Linear(2, 2).to(dtype=tl.bfloat16)
    assert model.weight.dtype == LOW[1]


def test_bfloat16_rounds_to_nearest_even_like_ml_dtypes():
    values = np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-9, -2.5e-3, 3.0e38, 1e-40], np.float32)
    ours = tl.tensor(values).bfloat16().numpy()
    np.testing.assert_array_equal(ours.view(np.uint16),
                                  values.astype(ml_dtypes.bfloat16).view(np.uint16))  # fmt: skip
    assert ours.view(np.uint16)[0] == np.array(1.0, ml_dtypes.bfloat16).view(np.uint16)  # to even


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_checkpoints_keep_the_dtype(tmp_path, dtype):
    values = np.array([1.5, -2.25, 3e-3], dtype=dtype)
    tl.save(
        {"w": values, "model": nn.Linear(2, 3).to(dtype=dtype).state_dict()}, tmp_path / "c.npz"
    )
    loaded = tl.load(tmp_path / "c.npz")
    assert loaded["w"].dtype == dtype and loaded["model"]["weight"].dtype == dtype
    np.testing.assert_array_equal(loaded["w"].view(np.uint16), values.view(np.uint16))


def test_a_tiny_float16_gradient_survives_with_the_scaler_and_flushes_without():
    def gradient(scaler):
        p = tl.tensor([1.0], requires_grad=True)
        y = p.half() * np.float16(1e-4)  # float16 activations, as under autocast
        loss = (y.float() * 1e-4).sum()  # a float32 loss; dL/dp = 1e-8 passes through float16
        scaler.scale(loss).backward()
        optimizer = tl.optim.SGD([p], lr=1.0)
        scaler.unscale_(optimizer)
        return p.grad.item()

    assert gradient(tl.amp.GradScaler(enabled=False)) == 0  # below float16's 6e-8: flushed
    assert gradient(tl.amp.GradScaler()) == pytest.approx(1e-8, rel=0.05)


def _scripted_run(lib, make_scaler, make_tensor):
    """A parameter whose gradient is finite, inf or NaN by script; returns (scale, value) after
    every update."""
    p = make_tensor([1.0, -2.0], requires_grad=True)
    optimizer = lib.optim.SGD([p], lr=0.1)
    scaler = make_scaler()
    history = []
    for step, bad in enumerate([None, None, np.inf, None, None, None, np.nan, None, None, None]):
        optimizer.zero_grad()
        loss = (p * p).sum() * (bad if bad is not None else 1.0)
        scaler.scale(loss).backward()
        if step % 3 == 1:
            scaler.unscale_(optimizer)  # as before clip_grad_norm_
        scaler.step(optimizer)
        scaler.update()
        history.append((scaler.get_scale(), [float(v) for v in p.detach().numpy()]))
    return history


def test_grad_scaler_matches_pytorch_step_for_step():
    torch = pytest.importorskip("torch")
    options = dict(init_scale=2.0**10, growth_interval=3)
    ours = _scripted_run(tl, lambda: tl.amp.GradScaler(**options), tl.tensor)
    theirs = _scripted_run(torch, lambda: torch.amp.GradScaler("cpu", **options),
                           lambda v, **k: torch.tensor(v, **k))  # fmt: skip
    for (our_scale, our_p), (their_scale, their_p) in zip(ours, theirs):
        assert our_scale == their_scale
        np.testing.assert_allclose(our_p, their_p, rtol=1e-6)


def test_grad_scaler_misuse_and_state_round_trip(tmp_path):
    p = tl.tensor([1.0], requires_grad=True)
    optimizer = tl.optim.SGD([p], lr=0.1)
    scaler = tl.amp.GradScaler(init_scale=8.0, growth_interval=1)
    scaler.scale((p * p).sum()).backward()
    scaler.unscale_(optimizer)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(optimizer)
    scaler.step(optimizer)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(optimizer)
    scaler.update()
    assert scaler.get_scale() == 16.0
    tl.save({"scaler": scaler.state_dict()}, tmp_path / "s.npz")
    restored = tl.amp.GradScaler()
    restored.load_state_dict(tl.load(tmp_path / "s.npz")["scaler"])
    assert restored.get_scale() == 16.0 and restored.state_dict() == scaler.state_dict()
    with pytest.raises(RuntimeError, match="No inf checks"):
        tl.amp.GradScaler().update()


def test_fit_in_float16_and_bfloat16_reaches_the_float32_accuracy():
    pytest.importorskip("sklearn")
    from tinygrad_lite.examples import e6_digits_mlp

    def accuracy(amp):
        return e6_digits_mlp.run(epochs=3, progress=False, log=lambda *a: None, amp=amp)[
            "test_accuracy"
        ]

    full = accuracy(None)
    for amp in ("float16", "bfloat16"):
        assert accuracy(amp) >= full - 0.006  # within 0.6 points after 3 epochs (0.3 at 5)
    with pytest.raises(ValueError, match="amp must be"):
        tl.train.fit(nn.Linear(2, 1), [], None, None, 1, amp="float8")


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_e9s_gpt_trains_under_autocast_with_layer_norm_in_float32(dtype):
    """The sequence-models issue's check: E9's GPT under autocast (matmuls in the low dtype,
    layer_norm and the loss in float32), loss and gradients close to float32's."""
    from tinygrad_lite.examples.e9_gpt import GPT

    tl.manual_seed(0)
    model = GPT(11, width=16, layers=2, heads=2, context=8)
    rng = np.random.default_rng(0)
    tokens, targets = rng.integers(0, 11, (3, 8)), rng.integers(0, 11, (3, 8))

    def loss():
        return F.cross_entropy(model(tokens).reshape(-1, 11), targets.reshape(-1))

    plain = loss()
    plain.backward()
    expected = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    with tl.amp.autocast(dtype=dtype):
        low = loss()
        normalized = model.blocks[0].ln_1(model.token(tokens) @ np.eye(16, dtype=np.float32))
    low.backward()
    assert low.dtype == normalized.dtype == np.float32
    assert abs(low.item() - plain.item()) < 1e-2
    for p, want in zip(model.parameters(), expected):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad.numpy(), want, atol=0.05)
