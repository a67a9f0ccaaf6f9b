"""E2: linear regression, one Linear(2, 1) unit fitted by SGD on the mean squared error."""

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim


def run(epochs: int = 1000, learning_rate: float = 0.05, seed: int = 0, log=print, **_) -> dict:
    tl.manual_seed(seed)
    x, y, (true_w, true_b) = data.linear(1000, features=2, noise=0.1, seed=seed)
    x_train, x_test, y_train, y_test = data.train_test_split(x, y, test_size=0.2, seed=seed)
    model = nn.Linear(2, 1)
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)
    inputs, targets = tl.tensor(x_train), tl.tensor(y_train)
    for _ in range(epochs):
        loss = nn.functional.mse_loss(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with tl.no_grad():
        test_mse = nn.functional.mse_loss(model(tl.tensor(x_test)), tl.tensor(y_test)).item()
    log(f"learned w = {model.weight.numpy().ravel().round(3)}, b = {model.bias.item():.3f}")
    log(f"true    w = {np.round(true_w, 3)}, b = {true_b:.3f}")
    log(f"test MSE = {test_mse:.5f}  (the noise variance is 0.01)")
    return {"test_mse": test_mse, "weight": model.weight.numpy().ravel(), "true_weight": true_w}


if __name__ == "__main__":
    run()
