"""The float16 (half_t) and bfloat16 (bfloat16_t) instantiations of every kernel, executed on the
CPU emulation. They compute in float and round once on the store, so each must equal, bit for
bit, the float32 instantiation run on the widened inputs with its 16-bit outputs rounded to
nearest-even by NumPy / ml_dtypes; per-row results (the softmax loss) and float32 master weights
updated from 16-bit gradients must equal the float32 kernel's exactly. The conversions themselves
are checked over every float16 bit pattern."""

import numpy as np
import pytest

from tinygrad_lite.backend import bfloat16
from tinygrad_lite.cuda import activation, emulation, im2col, optim, reduce, softmax_xent
from tinygrad_lite.ops.conv import Window

pytestmark = pytest.mark.skipif(not emulation.available(), reason="needs a C++ compiler")
ml_dtypes = pytest.importorskip("ml_dtypes")

LOW = [np.dtype(np.float16), bfloat16()]


def data(shape, dtype, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def same_bits(got, want):
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    bits = np.uint16 if got.itemsize == 2 else np.uint32
    np.testing.assert_array_equal(got.view(bits), want.view(bits))


@pytest.mark.parametrize("slope", [0.1, 3.7, 1e-3, 1e-6, 700.0, -1.0])
def test_rounding_to_float16_matches_numpy_on_every_bit_pattern(slope):
    # leaky_relu stores T(slope * x) for x <= 0 and x itself above: every float16 value in, and
    # products that land on ties, subnormals, overflow, inf and NaN
    x = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    y = activation.forward("leaky_relu", x, slope)
    wide = x.astype(np.float32)
    with np.errstate(all="ignore"):
        want = np.where(wide > 0, wide, np.float32(slope) * wide).astype(np.float16)
    finite = ~np.isnan(want)
    same_bits(y[finite], want[finite])
    assert np.isnan(y[~finite]).all()


@pytest.mark.parametrize("slope", [0.1, 3.7, 1e-30, 3e38])
def test_rounding_to_bfloat16_matches_ml_dtypes(slope):
    x = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(bfloat16())
    y = activation.forward("leaky_relu", x, slope)
    wide = x.astype(np.float32)
    with np.errstate(all="ignore"):
        want = np.where(wide > 0, wide, np.float32(slope) * wide).astype(bfloat16())
    finite = ~np.isnan(want.astype(np.float32))
    same_bits(y[finite], want[finite])
    assert np.isnan(y[~finite].astype(np.float32)).all()


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("name", activation.NAMES)
def test_activation_kernels_in_16_bits_equal_float32_rounded(name, dtype):
    scalars = (0.01,) if name == "leaky_relu" else ()
    x, gy = data(3000, dtype), data(3000, dtype, seed=1)
    y = activation.forward(name, x, *scalars)
    same_bits(y, activation.forward(name, x.astype(np.float32), *scalars).astype(dtype))
    saved = y if name in ("sigmoid", "tanh") else x
    gx = activation.backward(name, saved, gy, *scalars)
    wide = activation.backward(name, saved.astype(np.float32), gy.astype(np.float32), *scalars)
    same_bits(gx, wide.astype(dtype))


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_softmax_cross_entropy_reads_16_bit_logits_and_returns_a_float32_loss(dtype):
    logits = data((5, 700), dtype)
    target = np.random.default_rng(2).dirichlet(np.ones(700), 5).astype(dtype)
    loss, lse, target_sum = softmax_xent.forward(logits, target)
    wide = softmax_xent.forward(logits.astype(np.float32), target.astype(np.float32))
    for got, want in zip((loss, lse, target_sum), wide):
        same_bits(got, want)  # float32, computed the same way
    gy = np.linspace(0.5, 2, 5, dtype=np.float32)
    g_logits, g_target = softmax_xent.backward(logits, target, lse, target_sum, gy, True)
    want_logits, want_target = softmax_xent.backward(
        logits.astype(np.float32), target.astype(np.float32), *wide[1:], gy, True
    )
    same_bits(g_logits, want_logits.astype(dtype))
    same_bits(g_target, want_target.astype(dtype))


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_reductions_and_convolution_kernels_in_16_bits_add_in_float(dtype):
    x = data((6, 3, 9, 9), dtype)
    same_bits(
        reduce.sum_to(x, (3, 1, 9)), reduce.sum_to(x.astype(np.float32), (3, 1, 9)).astype(dtype)
    )
    window = Window.of(3, 2, 1, 1)
    cols = im2col.im2col(x, window)
    same_bits(cols, im2col.im2col(x.astype(np.float32), window).astype(dtype))
    image = im2col.col2im(cols, x.shape, window)
    want = im2col.col2im(cols.astype(np.float32), x.shape, window).astype(dtype)
    same_bits(image, want)
    pool = Window.of(2, 2, 0, 1)
    y, argmax = im2col.max_pool_forward(x, pool)
    y32, argmax32 = im2col.max_pool_forward(x.astype(np.float32), pool)
    same_bits(y, y32.astype(dtype))
    np.testing.assert_array_equal(argmax, argmax32)
    gy = data(y.shape, dtype, seed=3)
    gx = im2col.max_pool_backward(gy, argmax, x.shape, pool)
    same_bits(
        gx, im2col.max_pool_backward(gy.astype(np.float32), argmax, x.shape, pool).astype(dtype)
    )


def _states(n, count):
    return [np.abs(data(n, np.float32, seed=10 + i)) for i in range(count)]


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_float32_master_weights_update_from_16_bit_gradients_exactly(optimizer, dtype):
    n = 2000
    g = data(n, dtype, seed=1, scale=0.01)

    def step(gradient):
        p, *state = _states(n, 4)
        if optimizer == "sgd":
            optim.sgd_update(p, gradient, state[0], 0.1, 0.9, 0.0, 0.01, True, False)
        elif optimizer == "adam":
            optim.adam_update(p, gradient, *state[:3], 1e-3, 0.9, 0.999, 1e-8, 0.01, False, 3)
        else:
            optim.rmsprop_update(p, gradient, *state[:3], 1e-2, 0.99, 1e-8, 0.0, 0.9)
        return p, state

    p, state = step(g)
    p_wide, state_wide = step(g.astype(np.float32))
    assert p.dtype == np.float32
    same_bits(p, p_wide)
    for got, want in zip(state, state_wide):
        same_bits(got, want)


def test_a_16_bit_parameter_has_no_optimizer_instantiation():
    p = np.zeros(4, np.float16)
    with pytest.raises(TypeError, match="no instantiation for float16/float16"):
        optim.sgd_update(p, p, None, 0.1, 0.0, 0.0, 0.0, False, True)


def _train_under_autocast(dtype, steps=4):
    import tinygrad_lite as tl
    from tinygrad_lite import nn
    from tinygrad_lite import optim as optimizers

    tl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 3))  # fmt: skip
    opt = optimizers.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = tl.amp.GradScaler(init_scale=2.0**10)
    x = tl.tensor(data((6, 1, 8, 8), np.float32))
    labels = np.array([0, 1, 2, 1, 0, 2])
    losses = []
    for _ in range(steps):
        with tl.amp.autocast(device_type="cpu", dtype=dtype):
            loss = nn.functional.cross_entropy(model(x), labels)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    return np.array(losses), [p.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_autocast_training_on_emulated_16_bit_kernels_matches_numpy(dtype, request):
    # the activations, max-pool and im2col then run as half_t / bfloat16_t kernels; the NumPy
    # path computes the same ops in float32 and rounds, up to libm's last-bit differences
    expected_losses, expected = _train_under_autocast(dtype)
    request.getfixturevalue("engine_on_emulated_kernels")
    losses, params = _train_under_autocast(dtype)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-2)
    for got, want in zip(params, expected):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=5e-2, atol=5e-3)
