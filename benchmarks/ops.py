"""Forward + backward of single ops at a small size (per-op Python overhead shows) and a large
one (memory traffic shows). NumPy contenders compute the same forward and hand-derived backward."""

from __future__ import annotations

import numpy as np

SIZES = {"small": 16, "large": 512}


def _arrays(n: int, *shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def matmul(n: int, torch=None) -> dict:
    import tinygrad_lite as tl

    a, b, g = _arrays(n, (n, n), (n, n), (n, n))
    ta, tb = tl.Tensor(a, requires_grad=True), tl.Tensor(b, requires_grad=True)

    def ours():
        ta.grad = tb.grad = None
        (ta @ tb).backward(g)

    def numpy():
        a @ b
        return g @ b.T, a.T @ g

    runs = {"tinygrad_lite": ours, "numpy": numpy}
    if torch is not None:
        pa, pb = (torch.tensor(v, requires_grad=True) for v in (a, b))
        pg = torch.from_numpy(g)

        def reference():
            pa.grad = pb.grad = None
            (pa @ pb).backward(pg)

        runs["torch"] = reference
    return runs


def elementwise_chain(n: int, torch=None) -> dict:
    """y = tanh(x·w + c): three ops in ours and torch, fused by hand in NumPy's backward."""
    import tinygrad_lite as tl

    x, w, c, g = _arrays(n, (n, n), (n, n), (n, n), (n, n))
    tx = tl.Tensor(x, requires_grad=True)
    tw, tc = tl.Tensor(w), tl.Tensor(c)

    def ours():
        tx.grad = None
        (tx * tw + tc).tanh().backward(g)

    def numpy():
        y = np.tanh(x * w + c)
        return g * (1 - y * y) * w

    runs = {"tinygrad_lite": ours, "numpy": numpy}
    if torch is not None:
        px = torch.tensor(x, requires_grad=True)
        pw, pc, pg = torch.from_numpy(w), torch.from_numpy(c), torch.from_numpy(g)

        def reference():
            px.grad = None
            torch.tanh(px * pw + pc).backward(pg)

        runs["torch"] = reference
    return runs


def broadcast_sum(n: int, torch=None) -> dict:
    """((x + b)²).sum(axis=0) with b of shape (n,) broadcast over rows: the gradient of b must be
    reduced back."""
    import tinygrad_lite as tl

    x, b, g = _arrays(n, (n, n), (n,), (n,))
    tb = tl.Tensor(b, requires_grad=True)
    tx = tl.Tensor(x)

    def ours():
        tb.grad = None
        ((tx + tb) ** 2).sum(axis=0).backward(g)

    def numpy():
        d = x + b
        (d * d).sum(axis=0)
        return (2 * d * g).sum(axis=0)

    runs = {"tinygrad_lite": ours, "numpy": numpy}
    if torch is not None:
        pb = torch.tensor(b, requires_grad=True)
        px, pg = torch.from_numpy(x), torch.from_numpy(g)

        def reference():
            pb.grad = None
            ((px + pb) ** 2).sum(dim=0).backward(pg)

        runs["torch"] = reference
    return runs


def softmax_cross_entropy(n: int, torch=None) -> dict:
    import tinygrad_lite as tl

    (logits,) = _arrays(n, (n, 10))
    labels = np.random.default_rng(1).integers(0, 10, n)
    one_hot = np.eye(10, dtype=np.float32)[labels]
    tz = tl.Tensor(logits, requires_grad=True)

    def ours():
        tz.grad = None
        tl.nn.functional.cross_entropy(tz, labels).backward()

    def numpy():
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        -(one_hot * (shifted - np.log(total))).sum() / n
        return (e / total - one_hot) / n

    runs = {"tinygrad_lite": ours, "numpy": numpy}
    if torch is not None:
        pz = torch.tensor(logits, requires_grad=True)
        pl = torch.from_numpy(labels)

        def reference():
            pz.grad = None
            torch.nn.functional.cross_entropy(pz, pl).backward()

        runs["torch"] = reference
    return runs


def conv2d(n: int, torch=None) -> dict:
    """3×3 convolution, 8 -> 16 channels, padding 1, on a batch of n/8 images of 28×28; the
    NumPy contender is the hand im2col of the cnn benchmark (channels last inside)."""
    import tinygrad_lite as tl

    from .cnn import _col2im, _im2col

    batch = max(n // 8, 1)
    x, w, g = _arrays(n, (batch, 8, 28, 28), (16, 8, 3, 3), (batch, 16, 28, 28))
    tx, tw = tl.Tensor(x, requires_grad=True), tl.Tensor(w, requires_grad=True)

    def ours():
        tx.grad = tw.grad = None
        tl.nn.functional.conv2d(tx, tw, padding=1).backward(g)
        return tx.grad.numpy(), tw.grad.numpy()

    kernel = w.transpose(2, 3, 1, 0).reshape(-1, 16)  # rows in the (a, b, c) order of _im2col

    def numpy():
        cols = _im2col(x.transpose(0, 2, 3, 1))
        (cols @ kernel).reshape(batch, 28, 28, 16).transpose(0, 3, 1, 2)
        g_rows = g.transpose(0, 2, 3, 1).reshape(-1, 16)
        g_x = _col2im(g_rows @ kernel.T, (batch, 28, 28, 8)).transpose(0, 3, 1, 2)
        return g_x, cols.T @ g_rows

    runs = {"tinygrad_lite": ours, "numpy": numpy}
    if torch is not None:
        px, pw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        pg = torch.from_numpy(g)

        def reference():
            px.grad = pw.grad = None
            torch.nn.functional.conv2d(px, pw, padding=1).backward(pg)

        runs["torch"] = reference
    return runs


def max_pool2d(n: int, torch=None) -> dict:
    """2×2 max-pooling of n/8 images of 8×28×28; the NumPy contender is the cnn benchmark's."""
    import tinygrad_lite as tl

    from .cnn import _pool, _unpool

    batch = max(n // 8, 1)
    x, g = _arrays(n, (batch, 8, 28, 28), (batch, 8, 14, 14))
    tx = tl.Tensor(x, requires_grad=True)

    def ours():
        tx.grad = None
        tl.nn.functional.max_pool2d(tx, 2).backward(g)
        return tx.grad.numpy()

    def numpy():
        channels_last = x.transpose(0, 2, 3, 1)
        _, best = _pool(channels_last)
        return _unpool(g.transpose(0, 2, 3, 1), best, channels_last.shape).transpose(0, 3, 1, 2)

    runs = {"tinygrad_lite": ours, "numpy": numpy}
    if torch is not None:
        px, pg = torch.tensor(x, requires_grad=True), torch.from_numpy(g)

        def reference():
            px.grad = None
            torch.nn.functional.max_pool2d(px, 2).backward(pg)

        runs["torch"] = reference
    return runs


CASES = {
    "matmul": matmul,
    "elementwise_chain": elementwise_chain,
    "broadcast_sum": broadcast_sum,
    "softmax_cross_entropy": softmax_cross_entropy,
    "conv2d": conv2d,
    "max_pool2d": max_pool2d,
}
