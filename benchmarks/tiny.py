"""The tiny suite: training steps where Python, not arithmetic, is the cost, the examples our
teaching users run. Each case is one step of:

- XOR (E1): 2-4-1, sigmoid, MSE, 4 samples, plain SGD;
- E4, the sum rule: 2-3-1, ReLU then sigmoid, binary cross-entropy, batch 10, Adam;
- E5, logistic regression: 2-1, BCE with logits, batch 10, SGD;

timed for tinygrad_lite (eager and under tl.jit), the same step hand-written in NumPy
(derivatives by hand: the floor), PyTorch eager and the peer NumPy engines where installed
(DeZero, MyGrad, HIPS autograd: the same forward written once against each engine's ops, their
own backward, the update in NumPy). All compute the same training as ours (tests/benchmarks
checks the losses step by step).
"""

from __future__ import annotations

import numpy as np

from .harness import training_step

CASES = {  # name: (layer sizes, hidden activation, output activation, loss, optimizer, batch)
    "xor step (E1)": ((2, 4, 1), "sigmoid", "sigmoid", "mse", "sgd", 4),
    "sum-rule step (E4)": ((2, 3, 1), "relu", "sigmoid", "bce", "adam", 10),
    "logistic regression step (E5)": ((2, 1), None, None, "bce_logits", "sgd", 10),
}
LR = {"sgd": 0.5, "adam": 1e-3}


def _data(sizes, batch: int):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (batch, sizes[0])).astype(np.float32)
    y = (x.sum(axis=1, keepdims=True) >= 1).astype(np.float32)
    return x, y


def _initial_weights(sizes):
    """(W (in, out), b) per layer, the same numbers for every contender."""
    rng = np.random.default_rng(1)
    return [(rng.uniform(-1, 1, (a, b)).astype(np.float32), np.zeros(b, np.float32))
            for a, b in zip(sizes, sizes[1:])]  # fmt: skip


def tinygrad_step(name: str):
    import tinygrad_lite as tl
    from tinygrad_lite import nn, optim

    sizes, hidden, output, loss, optimizer, batch = CASES[name]
    layers = []
    for i, (w, b) in enumerate(_initial_weights(sizes)):
        linear = nn.Linear(*w.shape)
        linear.weight.data[...] = w.T
        linear.bias.data[...] = b
        layers.append(linear)
        activation = hidden if i < len(sizes) - 2 else output
        if activation:
            layers.append({"sigmoid": nn.Sigmoid, "relu": nn.ReLU}[activation]())
    model = nn.Sequential(*layers)
    make = optim.SGD if optimizer == "sgd" else optim.Adam
    opt = make(model.parameters(), lr=LR[optimizer])
    functional = {"mse": nn.functional.mse_loss, "bce": nn.functional.binary_cross_entropy,
                  "bce_logits": nn.functional.binary_cross_entropy_with_logits}[loss]  # fmt: skip
    x, y = _data(sizes, batch)
    return training_step(functional, model, opt, tl.tensor(x), tl.tensor(y))


def torch_step(name: str, torch):
    sizes, hidden, output, loss, optimizer, batch = CASES[name]
    layers = []
    for i, (w, b) in enumerate(_initial_weights(sizes)):
        linear = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        activation = hidden if i < len(sizes) - 2 else output
        if activation:
            layers.append({"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU}[activation]())
    model = torch.nn.Sequential(*layers)
    make = torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam
    opt = make(model.parameters(), lr=LR[optimizer])
    F = torch.nn.functional
    functional = {"mse": F.mse_loss, "bce": F.binary_cross_entropy,
                  "bce_logits": F.binary_cross_entropy_with_logits}[loss]  # fmt: skip
    x, y = _data(sizes, batch)
    return training_step(functional, model, opt, torch.from_numpy(x), torch.from_numpy(y))


class HandStep:
    """The step in NumPy with every derivative written out (the floor for a NumPy engine)."""

    def __init__(self, name: str):
        _, self.hidden, self.output, self.loss, _, _ = CASES[name]
        self.params, self.x, self.y = _start(name)
        self.update = _numpy_update(name)

    def _activate(self, z, kind):
        if kind == "sigmoid":
            return 1 / (1 + np.exp(-z))
        return np.maximum(z, 0) if kind == "relu" else z

    def _derivative(self, a, kind):
        if kind == "sigmoid":
            return a * (1 - a)
        return (a > 0).astype(a.dtype) if kind == "relu" else 1

    def __call__(self):
        activations, kinds = [self.x], []
        for i in range(0, len(self.params), 2):
            kind = self.hidden if i < len(self.params) - 2 else self.output
            z = activations[-1] @ self.params[i] + self.params[i + 1]
            activations.append(self._activate(z, kind))
            kinds.append(kind)
        out, y, n = activations[-1], self.y, self.y.size
        if self.loss == "mse":
            loss, delta = (
                np.mean((out - y) ** 2),
                2 * (out - y) / n * self._derivative(out, "sigmoid"),
            )
        elif self.loss == "bce":
            loss = -np.mean(y * np.log(out) + (1 - y) * np.log(1 - out))
            delta = (out - y) / n  # the sigmoid's derivative cancels the log's
        else:  # logits
            loss = np.mean(np.logaddexp(0, out) - y * out)
            delta = (1 / (1 + np.exp(-out)) - y) / n
        grads = [None] * len(self.params)
        for layer in range(len(kinds) - 1, -1, -1):
            grads[2 * layer] = activations[layer].T @ delta
            grads[2 * layer + 1] = delta.sum(axis=0)
            if layer:
                delta = (
                    delta
                    @ self.params[2 * layer].T
                    * self._derivative(activations[layer], kinds[layer - 1])
                )
        self.update(self.params, grads)
        return loss


def _peer_forward(ops, params, x, y, name: str):
    """The case's forward and loss, written once against an engine's array ops."""
    sizes, hidden, output, loss, _, _ = CASES[name]
    a, layers = x, len(params) // 2
    for i in range(layers):
        z = ops.matmul(a, params[2 * i]) + params[2 * i + 1]
        kind = hidden if i < layers - 1 else output
        a = 1 / (1 + ops.exp(-z)) if kind == "sigmoid" else ops.relu(z) if kind == "relu" else z
    if loss == "mse":
        return ops.mean((a - y) * (a - y))
    if loss == "bce":
        return -ops.mean(y * ops.log(a) + (1 - y) * ops.log(1 - a))
    return ops.mean(ops.log(1 + ops.exp(a)) - y * a)


class _PeerOps:
    def __init__(self, matmul, exp, log, relu, mean):
        self.matmul, self.exp, self.log, self.relu, self.mean = matmul, exp, log, relu, mean


def _start(name: str):
    """(the flat list of initial weights and biases, as fresh arrays; x; y) of a case."""
    sizes, batch = CASES[name][0], CASES[name][5]
    params = [a for w, b in _initial_weights(sizes) for a in (w.copy(), b.copy())]
    return (params, *_data(sizes, batch))


def _numpy_update(name: str):
    """The case's optimizer as NumPy updates of (params, grads), in place."""
    from .mlp import hand_adam

    optimizer, state = CASES[name][4], {"t": 0}

    def update(params, grads):
        if optimizer == "sgd":
            for p, g in zip(params, grads):
                p -= LR["sgd"] * g
        else:
            state.setdefault("m", [np.zeros_like(p) for p in params])
            state.setdefault("v", [np.zeros_like(p) for p in params])
            state["t"] += 1
            hand_adam(params, grads, state["m"], state["v"], state["t"], LR["adam"],
                      (0.9, 0.999), 1e-8)  # fmt: skip

    return update


def autograd_step(name: str):
    import autograd.numpy as anp
    from autograd import value_and_grad

    ops = _PeerOps(anp.dot, anp.exp, anp.log, lambda z: anp.maximum(z, 0), anp.mean)
    params, x, y = _start(name)
    gradient = value_and_grad(lambda ps: _peer_forward(ops, ps, x, y, name))
    update = _numpy_update(name)

    def step():
        loss, grads = gradient(params)
        update(params, grads)
        return loss

    return step


def mygrad_step(name: str):
    import mygrad as mg
    from mygrad.nnet.activations import relu

    ops = _PeerOps(mg.matmul, mg.exp, mg.log, relu, mg.mean)
    arrays, x, y = _start(name)
    params = [mg.tensor(a) for a in arrays]
    update = _numpy_update(name)

    def step():
        loss = _peer_forward(ops, params, x, y, name)
        loss.backward()
        update([p.data for p in params], [p.grad for p in params])
        return loss.item()

    return step


def dezero_step(name: str):
    if not hasattr(np, "int"):  # NOTE: DeZero 0.0.13 (2020) uses np.int, removed in NumPy 1.24
        np.int = int
    import dezero
    import dezero.functions as F

    ops = _PeerOps(F.matmul, F.exp, F.log, F.relu, lambda v: F.sum(v) / v.size)
    arrays, x, y = _start(name)
    params = [dezero.Parameter(a) for a in arrays]
    update = _numpy_update(name)

    def step():
        loss = _peer_forward(ops, params, x, y, name)
        for p in params:
            p.cleargrad()
        loss.backward()
        update([p.data for p in params], [p.grad.data for p in params])
        return float(loss.data)

    return step


def raw_xor_step(module, torch=None):
    """The XOR step as E1 teaches it, in raw tensor ops (no layers, no optimizer):
    o = σ(σ(x W1) W2), loss = mean((o - y)²), backward, w -= 0.5 · w.grad without recording.
    The same code runs on tinygrad_lite (`module` = tl) and PyTorch (`module` = torch)."""
    sizes = CASES["xor step (E1)"][0]
    (w1, _), (w2, _) = _initial_weights(sizes)
    x, y = _data(sizes, 4)
    lib = torch if module is None else module
    tensor = (lambda a, grad=False: torch.tensor(a, requires_grad=grad)) if module is None else (
        lambda a, grad=False: module.tensor(a, requires_grad=grad))  # fmt: skip
    w1, w2, x, y = tensor(w1, True), tensor(w2, True), tensor(x), tensor(y)

    def step():
        o = ((x @ w1).sigmoid() @ w2).sigmoid()
        loss = ((o - y) ** 2).mean()
        loss.backward()
        with lib.no_grad():
            for w in (w1, w2):
                w -= 0.5 * w.grad
                w.grad = None
        return loss

    return step


def raw_xor_hand_step():
    """The raw-ops XOR step by hand in NumPy: no biases, the derivatives written out."""
    sizes = CASES["xor step (E1)"][0]
    (w1, _), (w2, _) = _initial_weights(sizes)
    x, y = _data(sizes, 4)

    def step():
        h = 1 / (1 + np.exp(-(x @ w1)))
        o = 1 / (1 + np.exp(-(h @ w2)))
        delta = 2 * (o - y) / o.size * o * (1 - o)
        g2 = h.T @ delta
        g1 = x.T @ (delta @ w2.T * h * (1 - h))
        w1[...] -= 0.5 * g1
        w2[...] -= 0.5 * g2
        return np.mean((o - y) ** 2)

    return step


def raw_xor_contenders(torch=None) -> dict:
    import tinygrad_lite as tl

    found = {"tinygrad_lite": raw_xor_step(tl), "numpy": raw_xor_hand_step()}
    if torch is not None:
        found["torch"] = raw_xor_step(None, torch)
    return found


PEERS = {"dezero": dezero_step, "mygrad": mygrad_step, "autograd": autograd_step}


def contenders(name: str, torch=None, jitted: bool = False) -> dict:
    """{contender: step}; with `jitted`, ours is the step under tl.jit (captured, replayed)."""
    ours = tinygrad_step(name)
    if jitted:
        import tinygrad_lite as tl

        ours = tl.jit(ours)
    found = {"tinygrad_lite": ours, "numpy": HandStep(name)}
    if torch is not None:
        found["torch"] = torch_step(name, torch)
    for peer, make in PEERS.items():
        try:
            found[peer] = make(name)
        except ImportError:
            continue
    return found
