"""One training step of a 784-256-256-10 ReLU MLP: forward, softmax cross-entropy, backward,
Adam. Three contenders on the same data: tinygrad_lite, hand-written NumPy (forward and backward
derived by hand, Adam in place: the floor for any NumPy engine), and PyTorch CPU if installed."""

from __future__ import annotations

import numpy as np

from .harness import training_step

SIZES = (784, 256, 256, 10)


def _data(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, SIZES[0])).astype(np.float32), rng.integers(0, 10, batch)


def tinygrad_step(batch: int):
    import tinygrad_lite as tl
    from tinygrad_lite import nn, optim

    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))  # fmt: skip
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    x, labels = _data(batch)
    return training_step(nn.functional.cross_entropy, model, optimizer, tl.Tensor(x), labels)


def hand_adam(params, grads, m, v, t, lr, betas, eps):
    """Adam, in place, the way a careful NumPy programmer writes it (PyTorch's arithmetic)."""
    beta1, beta2 = betas
    step_size = lr / (1 - beta1**t)
    root_correction = np.sqrt(1 - beta2**t)
    for p, g, m_, v_ in zip(params, grads, m, v):
        m_ *= beta1
        m_ += (1 - beta1) * g
        v_ *= beta2
        v_ += (1 - beta2) * g * g
        p -= step_size * m_ / (np.sqrt(v_) / root_correction + eps)


class HandMLP:
    """The same network with every derivative written out, weights stored (in, out)."""

    def __init__(self, batch: int, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        rng = np.random.default_rng(0)
        self.params = []
        for fan_in, fan_out in zip(SIZES, SIZES[1:]):
            bound = 1 / np.sqrt(fan_in)
            self.params += [rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32),
                            rng.uniform(-bound, bound, fan_out).astype(np.float32)]  # fmt: skip
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.x, labels = _data(batch)
        self.one_hot = np.eye(10, dtype=np.float32)[labels]

    def step(self):
        w1, b1, w2, b2, w3, b3 = self.params
        x = self.x
        z1 = x @ w1 + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2 + b2
        h2 = np.maximum(z2, 0)
        logits = h2 @ w3 + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        p = exp / exp.sum(axis=1, keepdims=True)
        loss = -(self.one_hot * (shifted - np.log(exp.sum(axis=1, keepdims=True)))).sum() / len(x)
        g3 = (p - self.one_hot) / len(x)  # δ = p - y, the σ' factor cancels
        g2 = (g3 @ w3.T) * (z2 > 0)
        g1 = (g2 @ w2.T) * (z1 > 0)
        grads = [x.T @ g1, g1.sum(0), h1.T @ g2, g2.sum(0), h2.T @ g3, g3.sum(0)]
        self.t += 1
        hand_adam(self.params, grads, self.m, self.v, self.t, self.lr, self.betas, self.eps)
        return loss


def numpy_step(batch: int):
    return HandMLP(batch).step


def torch_step(batch: int, threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, labels = _data(batch)
    x, labels = torch.from_numpy(x), torch.from_numpy(labels)
    return training_step(torch.nn.functional.cross_entropy, model, optimizer, x, labels)


def contenders(batch: int, threads: int) -> dict:
    runs = {"tinygrad_lite": tinygrad_step(batch), "numpy": numpy_step(batch)}
    try:
        runs["torch"] = torch_step(batch, threads)
    except ImportError:
        pass
    return runs
