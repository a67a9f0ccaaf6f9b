"""Each fused kernel against the NumPy path at sizes large enough to use many blocks, and the
kernels' own edge cases: every element written, extreme values finite, optimizer state updated."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.cuda import im2col, reduce
from tinygrad_lite.ops.conv import Window

from .gpu_only import cupy

RTOL = {np.float64: 1e-10, np.float32: 1e-5}


def close(gpu, cpu, dtype):
    np.testing.assert_allclose(cupy.asnumpy(gpu), cpu, rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh", "gelu"])
def test_activation_kernels(name, dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(1_000_003) * 5).astype(dtype)
    x[:4] = [0.0, -1000.0, 1000.0, -0.0]
    ours = tl.Tensor(x, requires_grad=True)
    theirs = tl.Tensor(cupy.asarray(x), requires_grad=True)
    f = getattr(tl, name)
    gy = rng.standard_normal(x.shape).astype(dtype)
    y_cpu, y_gpu = f(ours), f(theirs)
    close(y_gpu.data, y_cpu.data, dtype)
    y_cpu.backward(tl.Tensor(gy))
    y_gpu.backward(tl.Tensor(cupy.asarray(gy)))
    close(theirs.grad.data, ours.grad.data, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows, classes", [(1, 1), (3, 1000), (4096, 10), (7, 33000)])
def test_softmax_cross_entropy_kernel(rows, classes, dtype):
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal((rows, classes)) * 30).astype(dtype)
    labels = rng.integers(0, classes, rows)
    for device in ("cpu", "cuda"):
        z = tl.Tensor(logits, requires_grad=True, device=device)
        loss = nn.functional.cross_entropy(z, labels)
        loss.backward()
        if device == "cpu":
            expected_loss, expected_grad = loss.item(), z.grad.numpy()
    np.testing.assert_allclose(loss.item(), expected_loss, rtol=RTOL[dtype])
    np.testing.assert_allclose(z.grad.numpy(), expected_grad, rtol=RTOL[dtype], atol=1e-7)
    assert np.isfinite(z.grad.numpy()).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "make",
    [lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-2),
     lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
     lambda p: optim.SGD(p, lr=0.1),
     lambda p: optim.Adam(p, lr=1e-2, weight_decay=1e-2),
     lambda p: optim.Adam(p, lr=1e-2, amsgrad=True),
     lambda p: optim.AdamW(p, lr=1e-2),
     lambda p: optim.RMSprop(p, lr=1e-2),
     lambda p: optim.RMSprop(p, lr=1e-2, centered=True, momentum=0.9, weight_decay=1e-3)],
)  # fmt: skip
def test_optimizer_kernels_match_the_cpu_rules(make, dtype):
    rng = np.random.default_rng(2)
    start = rng.standard_normal((513, 257)).astype(dtype)
    grads = [rng.standard_normal(start.shape).astype(dtype) for _ in range(5)]
    results = {}
    for device in ("cpu", "cuda"):
        p = tl.Tensor(start.copy(), requires_grad=True, device=device)
        optimizer = make([p])
        for g in grads:
            p.grad = tl.Tensor(g, device=device)
            optimizer.step()
        results[device] = p.numpy()
    np.testing.assert_allclose(results["cuda"], results["cpu"], rtol=RTOL[dtype] * 10, atol=1e-6)


WINDOWS = [((3, 3), (1, 1), (1, 1), (1, 1)), ((2, 2), (2, 2), (0, 0), (1, 1)),
           ((3, 2), (2, 1), (1, 0), (2, 1)), ((5, 5), (3, 3), (2, 2), (1, 1))]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel, stride, padding, dilation", WINDOWS)
def test_im2col_col2im_and_max_pool_kernels(kernel, stride, padding, dilation, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 17, 19)).astype(dtype)
    window = Window(kernel, stride, padding, dilation)
    cols_cpu = tl.ops.unfold(tl.Tensor(x), kernel, stride, padding, dilation).numpy()
    cols = im2col.im2col(cupy.asarray(x), window)
    close(cols, cols_cpu, dtype)
    image_cpu = tl.ops.fold(tl.Tensor(cols_cpu), x.shape[2:], kernel, stride, padding, dilation)
    close(im2col.col2im(cols, x.shape, window), image_cpu.numpy(), dtype)
    if all(2 * p <= k for p, k in zip(padding, kernel)):
        pooled = {}
        for device in ("cpu", "cuda"):
            t = tl.Tensor(x, requires_grad=True, device=device)
            y = nn.functional.max_pool2d(t, kernel, stride, padding, dilation)
            y.backward(tl.ones_like(y))
            pooled[device] = (y.numpy(), t.grad.numpy())
        for gpu, cpu in zip(pooled["cuda"], pooled["cpu"]):
            np.testing.assert_allclose(gpu, cpu, rtol=RTOL[dtype])


def test_max_pool_kernel_ties_and_nan_follow_the_cpu():
    """Ties go to the first maximum; a window holding NaN gives NaN and its gradient goes to the
    first NaN, also when the window starts in the padding."""
    x = np.ones((2, 3, 6, 6))
    x[0, 0, 0, 0] = x[1, 2, 3, 4] = x[1, 2, 3, 5] = np.nan
    results = {}
    for device in ("cpu", "cuda"):
        t = tl.Tensor(x, requires_grad=True, device=device)
        nn.functional.max_pool2d(t, 3, stride=2, padding=1).sum().backward()
        results[device] = t.grad.numpy()
    np.testing.assert_array_equal(results["cuda"], results["cpu"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "big, small",
    [((4096, 1024), (1024,)), ((4096, 1024), (4096, 1)), ((8, 16, 32, 32), (1, 16, 1, 1)),
     ((3, 1, 5), (1, 1, 1)), ((0, 7), (7,)), ((6, 7), ())],
)  # fmt: skip
def test_sum_to_kernel(big, small, dtype):
    x = np.random.default_rng(4).standard_normal(big).astype(dtype)
    expected = tl.ops.shape.sum_to_array(x, small)
    close(reduce.sum_to(cupy.asarray(x), small), expected, dtype)


def test_create_graph_on_the_gpu_takes_the_composed_path():
    x = tl.Tensor(np.linspace(-2, 2, 7), requires_grad=True, device="cuda")
    (g,) = tl.grad(tl.sigmoid(x).sum(), [x], create_graph=True)
    (gg,) = tl.grad(g.sum(), [x])
    s = 1 / (1 + np.exp(-np.linspace(-2, 2, 7)))
    np.testing.assert_allclose(gg.numpy(), s * (1 - s) * (1 - 2 * s), rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape, keys", [((2, 3, 300, 64), 300), ((1, 1, 97, 8), 130)])
def test_attention_kernel(shape, keys, causal, dtype):
    """Blocked attention (kernels/attention.cu on the GPU) against the NumPy path, gradients too."""
    if causal and keys != shape[-2]:
        pytest.skip("the causal mask is for self-attention here")
    rng = np.random.default_rng(5)
    key_shape = shape[:-2] + (keys, shape[-1])
    arrays = [rng.standard_normal(s).astype(dtype) for s in (shape, key_shape, key_shape)]
    gy = rng.standard_normal(shape).astype(dtype)
    results = {}
    for device in ("cpu", "cuda"):
        tensors = [tl.Tensor(a, requires_grad=True, device=device) for a in arrays]
        y = tl.ops.attention.blocked_attention(*tensors, shape[-1] ** -0.5, causal)
        y.backward(tl.Tensor(gy, device=device))
        results[device] = [y.numpy(), *(t.grad.numpy() for t in tensors)]
    for gpu, cpu in zip(results["cuda"], results["cpu"]):
        np.testing.assert_allclose(gpu, cpu, rtol=RTOL[dtype] * 10, atol=RTOL[dtype])
