"""E4: label = (x0 + x1 >= 0.5) on 100 uniform points; Linear(2, 3) ReLU -> Linear(3, 1) sigmoid,
Adam, binary cross-entropy, batch 10. The article reports accuracy 0.92 and a prediction of about
0.9975 for (0.1, 0.9)."""

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim, train


def run(
    epochs: int = 10,
    learning_rate: float = 1e-3,
    seed: int = 0,
    log=print,
    progress: bool = True,
    **_,
) -> dict:
    tl.manual_seed(seed)
    x, y = data.sum_rule(100, seed=seed)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    train.fit(
        model,
        data.DataLoader(data.TensorDataset(x, y), 10, shuffle=True),
        optim.Adam(model.parameters(), lr=learning_rate),
        nn.functional.binary_cross_entropy,
        epochs,
        metric=train.binary_accuracy,
        progress=progress,
        log=log,
    )
    with tl.no_grad():
        accuracy = train.binary_accuracy(model(tl.tensor(x)), tl.tensor(y))
        point = model(tl.tensor(np.array([[0.1, 0.9]], dtype=np.float32))).item()
    log(f"accuracy {accuracy:.3f}; prediction for (0.1, 0.9): {point:.4f}")
    return {"accuracy": accuracy, "prediction": point}


if __name__ == "__main__":
    run()
