"""E10: an LSTM predicts the next value of a noisy sine wave (DeZero's step 60), trained with
truncated backprop through time: the series is read in consecutive chunks of 30 steps
(tl.data.SequenceLoader), the LSTM state is carried from chunk to chunk and detached between them.

The model is LSTM(1, 100) and a Linear(100, 1) on each step's hidden state, Adam, mean squared
error. Reported: the training loss per epoch and the one-step-ahead error on the clean wave.
"""

from __future__ import annotations

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim


class SinePredictor(nn.Module):
    def __init__(self, hidden: int = 100):
        self.lstm, self.out = nn.LSTM(1, hidden), nn.Linear(hidden, 1)

    def forward(self, x: tl.Tensor, state=None):
        h, state = self.lstm(x, state)
        return self.out(h), state


def noisy_sine(steps: int = 1000, seed: int = 0) -> np.ndarray:
    t = np.linspace(0, 4 * np.pi * steps / 100, steps)
    noise = np.random.default_rng(seed).uniform(-0.05, 0.05, steps)
    return (np.sin(t) + noise).astype(np.float32)[:, None]


def run(epochs: int = 20, chunk: int = 30, batch_size: int = 10, learning_rate: float = 1e-3,
        seed: int = 0, log=print, progress: bool = True, **_) -> dict:  # fmt: skip
    tl.manual_seed(seed)
    series = noisy_sine(seed=seed)
    loader = data.SequenceLoader(series, chunk, batch_size)
    model = SinePredictor()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)
    losses = []
    for epoch in range(1, epochs + 1):
        state, total = None, 0.0
        for x, t in loader:
            y, state = model(x, state)
            loss = nn.functional.mse_loss(y, t)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            state = tuple(s.detach() for s in state)  # truncate: the next chunk starts here
            total += loss.item()
        losses.append(total / len(loader))
        if progress or epoch == epochs:
            log(f"epoch {epoch}/{epochs}  loss {losses[-1]:.5f}")
    clean = np.sin(np.linspace(0, 4 * np.pi * 2, 200)).astype(np.float32)[:, None, None]
    with tl.no_grad():
        predicted, _ = model(tl.tensor(clean[:-1]))
    error = float(np.mean((predicted.numpy() - clean[1:]) ** 2))
    log(f"one-step-ahead mean squared error on the clean wave {error:.5f}")
    return {"losses": losses, "clean_error": error, "model": model}


if __name__ == "__main__":
    run()
