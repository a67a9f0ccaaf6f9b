"""One training step of a small E7-style CNN on 1×28×28 images: conv 8@3×3 pad 1 → ReLU →
maxpool 2 → conv 16@3×3 pad 1 → ReLU → maxpool 2 → linear 10, softmax cross-entropy, Adam.
Contenders: tinygrad_lite, the same step written by hand in NumPy with im2col (every derivative
written out; the floor for a NumPy engine), and PyTorch CPU when installed."""

from __future__ import annotations

import numpy as np

from .harness import training_step
from .mlp import hand_adam

CHANNELS = (1, 8, 16)


def _data(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, batch)


def initial_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """PyTorch-layout weights (conv (O, C, 3, 3), linear (out, in)) shared by every contender."""
    rng = np.random.default_rng(seed)

    def uniform(shape, fan_in):
        bound = 1 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    (c0, c1, c2) = CHANNELS
    features = c2 * 49
    return {"0.weight": uniform((c1, c0, 3, 3), 9 * c0), "0.bias": uniform(c1, 9 * c0),
            "3.weight": uniform((c2, c1, 3, 3), 9 * c1), "3.bias": uniform(c2, 9 * c1),
            "7.weight": uniform((10, features), features),
            "7.bias": uniform(10, features)}  # fmt: skip


def _im2col(x):
    """(N, H, W, C) → (N·H·W, 9·C) for a 3×3 window with padding 1 (channels last), copied one
    kernel offset at a time: 9 large copies instead of one copy of a 6-D strided view."""
    n, h, w, c = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = np.empty((n, h, w, 3, 3, c), dtype=x.dtype)
    for a in range(3):
        for b in range(3):
            cols[:, :, :, a, b] = padded[:, a : a + h, b : b + w]
    return cols.reshape(n * h * w, 9 * c)


def _col2im(cols, shape):
    """The adjoint of _im2col: add each window element back where it came from."""
    n, h, w, c = shape
    cols = cols.reshape(n, h, w, 3, 3, c)
    padded = np.zeros((n, h + 2, w + 2, c), dtype=cols.dtype)
    for a in range(3):
        for b in range(3):
            padded[:, a : a + h, b : b + w] += cols[:, :, :, a, b]
    return padded[:, 1:-1, 1:-1]


CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))


def _pool(x):
    """2×2 max-pool of (N, H, W, C), and which corner of each block won (the first maximum)."""
    corners = [x[:, a::2, b::2] for a, b in CORNERS]
    y = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    best = np.zeros(y.shape, dtype=np.int8)
    for k in (3, 2, 1, 0):  # last to first, so the first maximum of a tie is kept
        best[corners[k] == y] = k
    return y, best


def _unpool(g, best, shape):
    """Each block's gradient to its winning corner."""
    out = np.zeros(shape, dtype=g.dtype)
    for k, (a, b) in enumerate(CORNERS):
        out[:, a::2, b::2] = np.where(best == k, g, 0)
    return out


class HandCNN:
    """The network with its backward written out, channels last, im2col convolutions."""

    def __init__(self, batch: int, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weights=None):
        w = initial_weights() if weights is None else weights
        self.params = [w["0.weight"].transpose(2, 3, 1, 0).reshape(-1, CHANNELS[1]).copy(),
                       w["0.bias"].copy(),
                       w["3.weight"].transpose(2, 3, 1, 0).reshape(-1, CHANNELS[2]).copy(),
                       w["3.bias"].copy(), w["7.weight"].T.copy(), w["7.bias"].copy()]  # fmt: skip
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        images, labels = _data(batch)
        self.x = np.ascontiguousarray(images.transpose(0, 2, 3, 1))
        self.one_hot = np.eye(10, dtype=np.float32)[labels]

    def step(self) -> float:
        k1, b1, k2, b2, w3, b3 = self.params
        n = len(self.x)
        cols1 = _im2col(self.x)
        z1 = (cols1 @ k1 + b1).reshape(n, 28, 28, -1)
        p1, best1 = _pool(np.maximum(z1, 0))
        cols2 = _im2col(p1)
        z2 = (cols2 @ k2 + b2).reshape(n, 14, 14, -1)
        p2, best2 = _pool(np.maximum(z2, 0))
        flat = p2.transpose(0, 3, 1, 2).reshape(n, -1)  # NCHW order, as the engines flatten
        logits = flat @ w3 + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = -(self.one_hot * (shifted - np.log(total))).sum() / n
        g_logits = (exp / total - self.one_hot) / n
        g_p2 = (g_logits @ w3.T).reshape(n, -1, 7, 7).transpose(0, 2, 3, 1)
        g_z2 = _unpool(g_p2, best2, z2.shape) * (z2 > 0)
        g_z2 = g_z2.reshape(n * 196, -1)
        g_p1 = _col2im(g_z2 @ k2.T, p1.shape)
        g_z1 = (_unpool(g_p1, best1, z1.shape) * (z1 > 0)).reshape(n * 784, -1)
        grads = [cols1.T @ g_z1, g_z1.sum(0), cols2.T @ g_z2, g_z2.sum(0),
                 flat.T @ g_logits, g_logits.sum(0)]  # fmt: skip
        self.t += 1
        hand_adam(self.params, grads, self.m, self.v, self.t, self.lr, self.betas, self.eps)
        return float(loss)


def make_model(nn):
    """The network in tinygrad_lite's or PyTorch's nn (same names, same layer indices)."""
    (c0, c1, c2) = CHANNELS
    return nn.Sequential(nn.Conv2d(c0, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(c2 * 49, 10))  # fmt: skip


def tinygrad_step(batch: int):
    import tinygrad_lite as tl
    from tinygrad_lite import nn, optim

    model = make_model(nn)
    model.load_state_dict(initial_weights())
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    images, labels = _data(batch)
    x = tl.Tensor(images)
    return training_step(nn.functional.cross_entropy, model, optimizer, x, labels)


def torch_step(batch: int, threads: int):
    import torch

    torch.set_num_threads(threads)
    model = make_model(torch.nn)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in initial_weights().items()})
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images, labels = _data(batch)
    x, labels = torch.from_numpy(images), torch.from_numpy(labels)
    return training_step(torch.nn.functional.cross_entropy, model, optimizer, x, labels)


def contenders(batch: int, threads: int) -> dict:
    runs = {"tinygrad_lite": tinygrad_step(batch), "numpy": HandCNN(batch).step}
    try:
        runs["torch"] = torch_step(batch, threads)
    except ImportError:
        pass
    return runs
