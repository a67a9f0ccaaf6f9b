"""The mlp step (784-256-256-10, ReLU, softmax cross-entropy, Adam, float32) in other NumPy
autograd engines our users know, when they are installed: DeZero, MyGrad and HIPS autograd.
Each uses its own idiomatic API; where an engine has no optimizer, Adam is the hand-written one
(benchmarks.mlp.hand_adam), the fastest NumPy version, so only its autograd is measured.

    pip install dezero mygrad autograd
"""

from __future__ import annotations

import numpy as np

from .mlp import HandMLP, _data, hand_adam


def _weights():
    """HandMLP's initial weights ((in, out) matrices and biases), so every engine starts alike."""
    return [p.copy() for p in HandMLP(1).params]


def dezero_step(batch: int):
    if not hasattr(np, "int"):  # NOTE: DeZero 0.0.13 (2020) uses np.int, removed in NumPy 1.24
        np.int = int
    import dezero
    import dezero.functions as F

    params = [dezero.Parameter(p) for p in _weights()]
    optimizer = dezero.optimizers.Adam(alpha=1e-3)
    model = dezero.Layer()
    for i, p in enumerate(params):
        setattr(model, f"p{i}", p)
    optimizer.setup(model)
    x, labels = _data(batch)

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h = F.relu(F.linear(x, w1, b1))
        h = F.relu(F.linear(h, w2, b2))
        loss = F.softmax_cross_entropy(F.linear(h, w3, b3), labels)
        model.cleargrads()
        loss.backward()
        optimizer.update()
        return float(loss.data)

    return step


def mygrad_step(batch: int):
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy

    params = [mg.tensor(p) for p in _weights()]
    m = [np.zeros_like(p.data) for p in params]
    v = [np.zeros_like(p.data) for p in params]
    x, labels = _data(batch)
    t = [0]

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h = relu(mg.matmul(x, w1) + b1)
        h = relu(mg.matmul(h, w2) + b2)
        loss = softmax_crossentropy(mg.matmul(h, w3) + b3, labels)
        loss.backward()
        t[0] += 1
        grads = [p.grad for p in params]
        hand_adam([p.data for p in params], grads, m, v, t[0], 1e-3, (0.9, 0.999), 1e-8)
        return float(loss.item())

    return step


def autograd_step(batch: int):
    import autograd.numpy as anp
    from autograd import grad

    params = _weights()
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    x, labels = _data(batch)
    one_hot = np.eye(10, dtype=np.float32)[labels]
    t = [0]

    def loss(params):
        w1, b1, w2, b2, w3, b3 = params
        h = anp.maximum(anp.dot(x, w1) + b1, 0)
        h = anp.maximum(anp.dot(h, w2) + b2, 0)
        logits = anp.dot(h, w3) + b3
        shifted = logits - anp.max(logits, axis=1, keepdims=True)
        log_p = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
        return -anp.sum(one_hot * log_p) / len(x)

    gradient = grad(loss)

    def step():
        grads = gradient(params)
        t[0] += 1
        hand_adam(params, grads, m, v, t[0], 1e-3, (0.9, 0.999), 1e-8)

    return step


ENGINES = {"dezero": dezero_step, "mygrad": mygrad_step, "autograd": autograd_step}


def contenders(batch: int) -> dict:
    """The installed peers' steps (an engine that is missing or fails to import is left out)."""
    runs = {}
    for name, make in ENGINES.items():
        try:
            runs[name] = make(batch)
        except ImportError:
            continue
    return runs


def missing() -> list[str]:
    """The peer engines that are not installed, so the report can say why their rows are empty."""
    import importlib.util

    return [name for name in ENGINES if importlib.util.find_spec(name) is None]
