"""E5: logistic regression p = σ(w·x + b) on two features scaled to [0, 1], by gradient descent
on binary cross-entropy with an optional L2 penalty ½λ‖w‖².

The article prints the weight gradient as -(1/n)Σ[yᵢxᵢ + (1 - yᵢ)xᵢ]. The correct one is
(1/n)Σ(pᵢ - yᵢ)xᵢ + λw: `check_gradient` compares the engine's gradient with that formula.
"""

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn


def scaled_data(seed: int = 0):
    x, y = data.two_blobs(400, seed=seed)
    x = (x - x.min(axis=0)) / (x.max(axis=0) - x.min(axis=0))  # features in [0, 1]
    return x.astype(np.float64), y.astype(np.float64)


def loss_of(w, b, x, y, l2: float):
    logits = x @ w + b
    return nn.functional.binary_cross_entropy_with_logits(logits, y) + nn.l2_penalty([w], l2)


def check_gradient(seed: int = 0, l2: float = 0.1) -> float:
    """Max difference between the engine's ∂L/∂w and (1/n)Σ(p - y)x + λw."""
    x, y = scaled_data(seed)
    w = tl.tensor(np.random.default_rng(seed).standard_normal((2, 1)), requires_grad=True)
    b = tl.tensor(np.zeros(1), requires_grad=True)
    loss_of(w, b, tl.tensor(x), tl.tensor(y), l2).backward()
    p = 1 / (1 + np.exp(-(x @ w.numpy() + b.numpy())))
    by_formula = x.T @ (p - y) / len(x) + l2 * w.numpy()
    return float(np.abs(w.grad.numpy() - by_formula).max())


def run(
    steps: int = 2000, learning_rate: float = 1.0, l2: float = 0.001, seed: int = 0, log=print, **_
) -> dict:
    x, y = scaled_data(seed)
    w = tl.zeros((2, 1), dtype=np.float64, requires_grad=True)
    b = tl.zeros(1, dtype=np.float64, requires_grad=True)
    inputs, targets = tl.tensor(x), tl.tensor(y)
    for _ in range(steps):
        loss = loss_of(w, b, inputs, targets, l2)
        w.zero_grad(), b.zero_grad()
        loss.backward()
        with tl.no_grad():
            w -= learning_rate * w.grad
            b -= learning_rate * b.grad
    accuracy = float((((inputs @ w + b).numpy() >= 0) == (y >= 0.5)).mean())
    gap = check_gradient(seed, l2)
    log(f"w = {w.numpy().ravel().round(3)}, b = {b.item():.3f}, loss {loss.item():.4f}")
    log(f"accuracy {accuracy:.3f}")
    log(f"engine gradient vs (1/n)Σ(p - y)x + λw: max difference {gap:.2e}")
    return {"accuracy": accuracy, "gradient_gap": gap}


if __name__ == "__main__":
    run()
