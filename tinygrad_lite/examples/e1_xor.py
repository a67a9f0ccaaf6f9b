"""E1: XOR with a 2-4-1 sigmoid network, a squared error and plain gradient descent.

The article's code computes `W1.dot(X)` with W1 of shape (in, hidden) and X of shape (4, in):
the shapes do not line up. The forward is X @ W1 + b1, and the bias gradient is a sum over the
batch axis 0. `hand_gradients` writes that backprop out in NumPy, and the test checks it against
the engine.
"""

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim


def hand_gradients(x, target, w1, b1, w2, b2):
    """Backprop by hand for loss = mean((ŷ - y)²), with weights stored (in, out)."""
    sigmoid = lambda z: 1 / (1 + np.exp(-z))
    h = sigmoid(x @ w1 + b1)
    out = sigmoid(h @ w2 + b2)
    delta_out = 2 * (out - target) / out.size * out * (1 - out)  # MSE: here σ' does not cancel
    delta_h = delta_out @ w2.T * h * (1 - h)
    return x.T @ delta_h, delta_h.sum(axis=0), h.T @ delta_out, delta_out.sum(axis=0)


def run(
    epochs: int = 5000, learning_rate: float = 2.0, hidden: int = 4, seed: int = 0, log=print, **_
) -> dict:
    tl.manual_seed(seed)
    x, target = (tl.tensor(a) for a in tl.data.xor())
    model = nn.Sequential(nn.Linear(2, hidden), nn.Sigmoid(), nn.Linear(hidden, 1), nn.Sigmoid())
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)
    for epoch in range(epochs):
        loss = nn.functional.mse_loss(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch % max(epochs // 5, 1) == 0:
            log(f"epoch {epoch:5d}  loss {loss.item():.5f}")
    predictions = model(x).numpy()[:, 0]
    for point, p in zip(x.numpy().astype(int).tolist(), predictions):
        log(f"  {point} -> {p:.4f}")
    return {"predictions": predictions, "loss": loss.item(), "model": model}


if __name__ == "__main__":
    run()
