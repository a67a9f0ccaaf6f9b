"""Every CUDA kernel, every instantiation and every launcher, executed on the CPU emulation of the
CUDA model (kernels/cpu_emulation.cuh) and compared with the NumPy path, on shapes that stress the
indexing; and negative controls showing that the emulation catches a wrong index and a race."""

import importlib

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, ops, optim
from tinygrad_lite.cuda import (
    activation,
    attention,
    emulation,
    im2col,
    kernels,
    launch,
    layer_norm,
    reduce,
    softmax_xent,
)
from tinygrad_lite.ops.conv import Window

pytestmark = pytest.mark.skipif(not emulation.available(), reason="needs a C++ compiler")

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: 2e-6, np.float64: 1e-13}
ONE_GRID_PASS = 32 * emulation.MULTIPROCESSORS * launch.THREADS  # elements per grid-stride pass
SIZES = [0, 1, 255, 257, ONE_GRID_PASS + 3]


def close(got, want, dtype, terms=1):
    """Equal up to rounding: a sum of `terms` values may differ by about ε·terms between orders."""
    tolerance = max(TOLERANCE[dtype], 4 * np.finfo(dtype).eps * terms)
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


def data(shape, dtype, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def sigmoid(x):
    return np.where(
        x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x)))
    )


FORMULAS = {  # forward, derivative from (x, y)
    "relu": (lambda x: np.maximum(x, 0), lambda x, y: (x > 0).astype(x.dtype)),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.1 * x), lambda x, y: np.where(x > 0, 1, 0.1)),
    "sigmoid": (sigmoid, lambda x, y: y * (1 - y)),
    "tanh": (np.tanh, lambda x, y: 1 - y * y),
    "gelu": (lambda x: tl.gelu(tl.tensor(x)).numpy(),
             lambda x, y: tl.ops.activation.NormalCdf.apply(tl.tensor(x)).numpy()
             + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)),
}  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", activation.NAMES)
def test_activation_kernels(name, size, dtype):
    forward, derivative = FORMULAS[name]
    x, gy = data(size, dtype), data(size, dtype, seed=1)
    x[:4] = [0.0, -1000.0, 1000.0, -0.0][: min(size, 4)]
    scalars = (0.1,) if name == "leaky_relu" else ()
    y = activation.forward(name, x, *scalars)
    close(y, forward(x), dtype)
    saved = x if name in ("relu", "leaky_relu", "gelu") else y
    close(activation.backward(name, saved, gy, *scalars), gy * derivative(x, y), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows, classes", [(1, 1), (3, 1000), (5, 10), (2, 257)])
def test_softmax_cross_entropy_kernels(rows, classes, dtype):
    logits = data((rows, classes), dtype)
    target = np.random.default_rng(2).dirichlet(np.ones(classes), rows).astype(dtype)
    if classes > 2:
        logits[0, 1], target[0, 1] = -np.inf, 0  # a class with target 0 adds 0, not NaN
    loss, lse, target_sum = softmax_xent.forward(logits, target)
    reference = ops.loss.SoftmaxCrossEntropy()
    reference.xp = np
    with np.errstate(invalid="ignore"):  # the -inf logit, as inside Function.apply
        close(loss, reference.forward(logits, target), dtype, terms=classes)
    gy = data(rows, dtype, seed=3)
    g_logits, g_target = softmax_xent.backward(logits, target, lse, target_sum, gy, True)
    log_p = reference.log_p
    close(g_logits, gy[:, None] * (np.exp(log_p) * target.sum(1, keepdims=True) - target), dtype)
    finite = np.isfinite(log_p)
    close(g_target[finite], (-gy[:, None] * log_p)[finite], dtype)


GEOMETRIES = [  # (N, C, H, W), kernel, stride, padding, dilation
    ((2, 3, 7, 5), 3, 1, 1, 1),
    ((1, 2, 9, 8), (3, 2), (2, 3), (1, 0), 1),
    ((3, 1, 6, 6), 2, 2, 0, 1),
    ((1, 2, 11, 7), 3, 2, 1, 2),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_im2col_and_col2im_kernels(geometry, dtype):
    shape, *window = geometry
    window = Window.of(*window)
    x = data(shape, dtype)
    cols = im2col.im2col(x, window)
    expected = ops.conv.Unfold.apply(tl.tensor(x), window=window).numpy()
    close(cols.reshape(expected.shape), expected, dtype)
    back = im2col.col2im(cols, shape, window)
    close(back, ops.conv.Fold.apply(tl.tensor(cols.reshape(expected.shape)), input_shape=shape,
                                    window=window).numpy(), dtype)  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", [g for g in GEOMETRIES if g[3] != 1 or g[1] == 3], ids=str)
def test_max_pool_kernels_with_ties_and_nan(geometry, dtype):
    shape, *window = geometry
    window = Window.of(*window)
    x = np.round(data(shape, dtype))  # rounded: many ties
    x.reshape(-1)[5] = np.nan
    reference = ops.conv.MaxPool2d()
    reference.xp = np
    y_cpu = reference.forward(x, window=window)
    y, argmax = im2col.max_pool_forward(x, window)
    np.testing.assert_array_equal(y, y_cpu)
    np.testing.assert_array_equal(argmax, reference.index)
    gy = data(y.shape, dtype, seed=4)
    gx = im2col.max_pool_backward(gy, argmax, shape, window)
    unpool = ops.conv.MaxUnpool.apply(tl.tensor(gy), index=argmax, input_shape=shape,
                                      window=window).numpy()  # fmt: skip
    close(gx, unpool, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [((4, 3), (3,)), ((2, 5, 7), (5, 1)), ((300, 70), (1, 70)),
                                    ((3, 1, 4), (1, 1, 1)), ((0, 3), (3,))], ids=str)  # fmt: skip
def test_sum_to_kernel(shapes, dtype):
    big, small = shapes
    x = data(big, dtype)
    close(reduce.sum_to(x, small), ops.shape.sum_to_array(x, small), dtype)


def _train_a_small_cnn(optimizer_class, **options):
    tl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 4, 3, stride=2), nn.Tanh(), nn.Flatten(),
                          nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 3), nn.Sigmoid())  # fmt: skip
    model.to(dtype=np.float64)
    opt = optimizer_class(model.parameters(), lr=0.01, **options)
    x = data((5, 1, 8, 8), np.float64)
    labels = np.array([0, 1, 2, 1, 0])
    losses = []
    for _ in range(3):
        loss = nn.functional.cross_entropy(model(tl.tensor(x)), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.numpy().copy() for p in model.parameters()]


OPTIMIZERS = [
    (optim.SGD, {}), (optim.SGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (optim.SGD, {"momentum": 0.5, "dampening": 0.1}), (optim.Adam, {}),
    (optim.Adam, {"amsgrad": True, "weight_decay": 0.01}), (optim.AdamW, {}),
    (optim.RMSprop, {}), (optim.RMSprop, {"centered": True, "momentum": 0.9}),
]  # fmt: skip


@pytest.mark.parametrize("optimizer, options", OPTIMIZERS, ids=lambda v: str(v))
def test_training_on_emulated_kernels_matches_numpy(optimizer, options, request):
    expected_losses, expected_params = _train_a_small_cnn(optimizer, **options)
    request.getfixturevalue("engine_on_emulated_kernels")
    losses, params = _train_a_small_cnn(optimizer, **options)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-12)
    for got, want in zip(params, expected_params):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


def test_every_instantiation_has_an_emulated_entry_point():
    families = [importlib.import_module(f"tinygrad_lite.cuda.{f}") for f in kernels.FAMILIES]
    pairs = [(kernel, types) for family in families for kernel in family.KERNELS
             for types in kernel.instantiations]  # fmt: skip
    assert len(pairs) == 4 * sum(len(t) for t in kernels.templates().values())
    for kernel, types in pairs:
        assert emulation.compiled(kernel, types).entry is not None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows, width", [(1, 1), (3, 1000), (5, 10), (2, 257), (0, 4)])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("affine", ["", "w", "wb"])
def test_layer_norm_kernels(rows, width, center, affine, dtype):
    x = data((rows, width), dtype) + 5  # a mean far from 0: the two-pass variance keeps digits
    weight = data(width, dtype, seed=1) if "w" in affine else None
    bias = data(width, dtype, seed=2) if "b" in affine else None
    gy = data((rows, width), dtype, seed=3)
    y, mean, rstd = layer_norm.forward(x, weight, bias, 1e-5, center)
    reference = ops.normalization.FusedLayerNorm()
    reference.xp = np
    inputs = [x, *(a for a in (weight, bias) if a is not None)]
    reference.inputs = [tl.tensor(a) for a in inputs]
    expected = reference.forward(*inputs, width=width, eps=1e-5, center=center, affine=affine)
    close(y, expected, dtype, terms=width)
    close(rstd[:, None], reference.rstd, dtype, terms=width)
    gx = layer_norm.backward(x, weight, mean, rstd, gy, center)
    close(gx, reference.backward_untracked(gy)[0], dtype, terms=width)


def _attention_reference(q, k, v, gy, scale, causal):
    """The NumPy path of BlockedAttention (small blocks, so it blocks too): y, gq, gk, gv."""
    tensors = [tl.tensor(a, requires_grad=True) for a in (q, k, v)]
    y = ops.attention.blocked_attention(*tensors, scale, causal, block=5)
    (y * tl.tensor(gy)).sum().backward()
    return [y.numpy(), *(t.grad.numpy() for t in tensors)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("heads, length, keys, width, value_width",
                         [(1, 1, 1, 1, 1), (2, 7, 7, 3, 5), (1, 70, 70, 8, 4), (3, 9, 40, 2, 6),
                          (1, 33, 17, 96, 96), (0, 4, 4, 2, 2)])  # fmt: skip
@pytest.mark.parametrize("causal", [False, True])
def test_attention_kernels(heads, length, keys, width, value_width, causal, dtype):
    """Tiles that do not divide the rows, more keys than queries and fewer, widths that force
    a small tile (96: tile 16 in float64), the causal skip of key tiles, no heads at all."""
    if causal and keys < length:
        keys = length  # the causal mask keeps key j ≤ query i: every query has a key
    shapes = [(heads, length, width), (heads, keys, width), (heads, keys, value_width)]
    q, k, v = (data(s, dtype, seed, scale=1.0) for seed, s in enumerate(shapes))
    gy = data((heads, length, value_width), dtype, seed=3)
    scale = 1 / np.sqrt(width)
    out, lse = attention.forward(q, k, v, scale, causal)
    expected = _attention_reference(q, k, v, gy, scale, causal)
    close(out, expected[0], dtype, terms=keys)
    gradients = attention.backward(q, k, v, out, lse, gy, scale, causal)
    for got, want in zip(gradients, expected[1:]):
        close(got, want, dtype, terms=keys * max(width, value_width))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_attention_kernels_take_16_bit_inputs_and_compute_in_float32(dtype):
    low = kernels.numpy_dtype(dtype)
    q, k, v, gy = (data((2, 40, 8), np.float32, seed, scale=1.0).astype(low) for seed in range(4))
    out, lse = attention.forward(q, k, v, 0.35, True)
    assert out.dtype == low and lse.dtype == np.float32
    wide = [a.astype(np.float32) for a in (q, k, v, gy)]
    expected = _attention_reference(*wide, 0.35, True)
    tolerance = {"float16": 2e-3, "bfloat16": 2e-2}[dtype]  # one rounding of each result
    np.testing.assert_allclose(out.astype(np.float32), expected[0], rtol=tolerance, atol=tolerance)
    gradients = attention.backward(q, k, v, out, lse, gy, 0.35, True)
    for got, want in zip(gradients, expected[1:]):
        assert got.dtype == low
        np.testing.assert_allclose(got.astype(np.float32), want, rtol=4 * tolerance,
                                   atol=4 * tolerance)  # fmt: skip


def test_attention_through_the_engine_on_emulated_kernels_matches_numpy(request):
    """scaled_dot_product_attention above its blocking size, 4-D (batch, heads) inputs."""
    shape = (2, 2, 24, 8)
    q, k, v, gy = (data(shape, np.float64, seed, scale=1.0) for seed in range(4))

    def run():
        tensors = [tl.tensor(a, requires_grad=True) for a in (q, k, v)]
        y = ops.attention.blocked_attention(*tensors, 0.3, True)
        (y * tl.tensor(gy)).sum().backward()
        return [y.numpy(), *(t.grad.numpy() for t in tensors)]

    expected = run()
    request.getfixturevalue("engine_on_emulated_kernels")
    for got, want in zip(run(), expected):
        close(got, want, np.float64, terms=24 * 8)


def test_attention_widths_beyond_shared_memory_take_the_array_path():
    assert attention.tile_for(np.float32, 64, 64) == 32
    assert attention.tile_for(np.float64, 64, 64) == 16
    assert attention.tile_for(np.float32, 2048, 2048) is None


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_softmax_kernel_propagates_nan_and_inf_like_the_cpu(bad):
    logits = data((2, 600), np.float64)
    logits[0, 300] = bad
    target = np.full((2, 600), 1 / 600)
    loss, _, _ = softmax_xent.forward(logits, target)
    reference = ops.loss.SoftmaxCrossEntropy()
    reference.xp = np
    with np.errstate(invalid="ignore"):
        expected = reference.forward(logits, target)
    assert np.isnan(loss[0]) and np.isnan(expected[0])
    close(loss[1], expected[1], np.float64)


# ---- negative controls: a planted bug must make the comparisons fail ---------------------------
def _planted(file: str, old: str, new: str):
    text = emulation.program(file)
    assert old in text, old
    return emulation.build(text.replace(old, new, 1), f"planted-{file.split('.')[0]}")


def test_an_off_by_one_in_im2col_padding_is_caught():
    row = "int h = i * w.stride_h - w.pad_h + a * w.dilation_h;\n        int col"
    library = _planted("im2col.cu", row, row.replace("- w.pad_h", "- w.pad_h + 1"))
    window = Window.of(3, 1, 1, 1)
    x = data((1, 2, 5, 5), np.float64)
    good = im2col.im2col(x, window)
    kernel = emulation.EmulatedKernel(im2col.IM2COL, ("float64",), library)
    bad = np.empty_like(good)
    geometry, _, _ = im2col._geometry(np, window, 2, 5, 5)
    args = launch.pack_arguments(im2col.IM2COL, ("float64",), (x, bad, geometry, bad.size))
    kernel((4,), (launch.THREADS,), args)
    assert not np.allclose(bad, good)


def test_a_missing_barrier_in_the_softmax_reduction_is_caught():
    step = "if (threadIdx.x < stride) scratch[threadIdx.x] += scratch[threadIdx.x + stride];"
    library = _planted("softmax_xent.cu", step + "\n        __syncthreads();", step)
    logits = data((3, 700), np.float64)
    target = np.random.default_rng(2).dirichlet(np.ones(700), 3)
    good, _, _ = softmax_xent.forward(logits, target)
    kernel = emulation.EmulatedKernel(softmax_xent.FORWARD, ("float64",), library)
    outputs = [np.empty(3) for _ in range(3)]
    args = launch.pack_arguments(softmax_xent.FORWARD, ("float64",),
                                 (logits, target, *outputs, 3, 700))  # fmt: skip
    wrong = 0
    for seed in range(5):
        emulation.set_seed(seed)
        kernel((3,), (launch.THREADS,), args, shared_mem=8 * launch.THREADS)
        wrong += not np.allclose(outputs[0], good)
    emulation.set_seed(0)
    assert wrong >= 4  # the race shows for (nearly) every thread order


def _attention_with(library, q, k, v, scale, causal):
    """attention_forward from a planted library, launched as the launcher does."""
    heads, length, width = q.shape
    tile = attention.tile_for(q.dtype, width, v.shape[2])
    out, lse = np.empty((heads, length, v.shape[2])), np.empty((heads, length))
    kernel = emulation.EmulatedKernel(attention.FORWARD, ("float64",), library)
    args = launch.pack_arguments(attention.FORWARD, ("float64",), (q, k, v, out, lse, heads, length,
                                 k.shape[1], width, v.shape[2], scale, int(causal)))  # fmt: skip
    shared = attention._shared_values(attention.FORWARD, tile, width, v.shape[2]) * 8
    tasks = heads * -(-length // tile)
    kernel((tasks,), (tile,), args, shared_mem=shared)
    return out


def test_an_off_by_one_in_the_causal_mask_of_attention_is_caught():
    mask = "const bool masked = causal && first_key + j > row;"
    library = _planted("attention.cu", mask, mask.replace("> row", ">= row + 1 + (row % 7 == 3)"))
    q, k, v = (data((1, 80, 4), np.float64, seed, scale=1.0) for seed in range(3))
    good, _ = attention.forward(q, k, v, 0.5, True)
    assert not np.allclose(_attention_with(library, q, k, v, 0.5, True), good)


def test_a_missing_barrier_before_attentions_tile_loads_is_caught():
    loads = "__syncthreads();\n            load_tile(k_tile, kh, first_key, keys, width);"
    library = _planted("attention.cu", loads, loads.replace("__syncthreads();", ""))
    q, k, v = (data((1, 80, 4), np.float64, seed, scale=1.0) for seed in range(3))
    good, _ = attention.forward(q, k, v, 0.5, False)
    wrong = 0
    for seed in range(3):
        emulation.set_seed(seed)
        wrong += not np.allclose(_attention_with(library, q, k, v, 0.5, False), good)
    emulation.set_seed(0)
    assert wrong >= 2  # threads overwrite the key tile others are still reading


def test_a_barrier_reached_by_part_of_a_block_is_an_error():
    barrier = "A row_max = block_max(m, scratch);"
    library = _planted("softmax_xent.cu", barrier, "if (threadIdx.x == 0) return;\n" + barrier)
    kernel = emulation.EmulatedKernel(softmax_xent.FORWARD, ("float64",), library)
    logits, target = data((1, 4), np.float64), np.full((1, 4), 0.25)
    outputs = [np.empty(1) for _ in range(3)]
    args = launch.pack_arguments(softmax_xent.FORWARD, ("float64",),
                                 (logits, target, *outputs, 1, 4))  # fmt: skip
    with pytest.raises(emulation.EmulationError, match="different numbers of __syncthreads"):
        kernel((1,), (launch.THREADS,), args, shared_mem=8 * launch.THREADS)


def _layer_norm_gradients():
    layer = nn.LayerNorm((2, 3))
    layer.weight.data[...] = data((2, 3), np.float64, seed=5)
    layer.bias.data[...] = data((2, 3), np.float64, seed=6)
    x = tl.tensor(data((4, 2, 3), np.float64), requires_grad=True)
    y = layer(x)
    (y * tl.tensor(data((4, 2, 3), np.float64, seed=7))).sum().backward()
    return [t.numpy() for t in (y, x.grad, layer.weight.grad, layer.bias.grad)]


def test_layer_norm_through_the_engine_on_emulated_kernels_matches_numpy(request):
    expected = _layer_norm_gradients()
    request.getfixturevalue("engine_on_emulated_kernels")
    for got, want in zip(_layer_norm_gradients(), expected):
        close(got, want, np.float64, terms=6)
