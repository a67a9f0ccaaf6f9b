"""`python -m tinygrad_lite`: the engine at work in one screen.

1. The chain rule on a small function, checked against the hand-derived formula.
2. tl.gradcheck on it (finite differences, random upstream gradient).
3. XOR (example E1) learned by a 2-8-1 network written with raw Tensor ops.
"""

from __future__ import annotations

import numpy as np

import tinygrad_lite as tl

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_TARGETS = np.array([[0], [1], [1], [0]], dtype=np.float64)


def chain_rule_demo() -> None:
    x = tl.tensor([0.5, -1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = (x.sin() * x).sum()  # y = Σ x sin x,  dy/dx = sin x + x cos x
    y.backward()
    by_hand = np.sin(x.numpy()) + x.numpy() * np.cos(x.numpy())
    print(f"y = sum(x * sin(x)) = {y.item():.6f}")
    print(f"engine  dy/dx = {np.array2string(x.grad.numpy(), precision=6)}")
    print(f"by hand dy/dx = {np.array2string(by_hand, precision=6)}  (sin x + x cos x)")
    ok = tl.gradcheck(lambda t: t.sin() * t, x)
    print(
        f"gradcheck (finite differences, random upstream gradient): {'passed' if ok else 'FAILED'}"
    )


def train_xor(steps: int = 2000, learning_rate: float = 1.0, seed: int = 0) -> np.ndarray:
    """Full-batch gradient descent on binary cross-entropy; returns the 4 predictions."""
    rng = np.random.default_rng(seed)
    w1 = tl.Tensor(rng.standard_normal((2, 8)), requires_grad=True)
    b1 = tl.zeros(8, dtype=np.float64, requires_grad=True)
    w2 = tl.Tensor(rng.standard_normal((8, 1)), requires_grad=True)
    b2 = tl.zeros(1, dtype=np.float64, requires_grad=True)
    x, target = tl.tensor(XOR_INPUTS), tl.tensor(XOR_TARGETS)
    for step in range(steps + 1):
        p = ((x @ w1 + b1).tanh() @ w2 + b2).sigmoid()
        loss = -(target * p.log() + (1 - target) * (1 - p).log()).mean()
        loss.backward()
        with tl.no_grad():
            for w in (w1, b1, w2, b2):
                w -= learning_rate * w.grad
                w.zero_grad()
        if step % (steps // 4) == 0:
            print(f"  step {step:5d}  loss {loss.item():.5f}")
    return p.numpy()


def main() -> None:
    print("== the chain rule ==")
    chain_rule_demo()
    print("\n== XOR with a 2-8-1 network of raw Tensor ops ==")
    predictions = train_xor()
    for inputs, p in zip(XOR_INPUTS.astype(int), predictions[:, 0]):
        print(f"  {inputs.tolist()} -> {p:.4f}")


if __name__ == "__main__":
    main()
