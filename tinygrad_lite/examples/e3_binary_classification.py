"""E3: binary classification of two 2-D classes: Linear(2, 64) ReLU -> Linear(64, 1) sigmoid,
SGD lr 0.01, binary cross-entropy, 10 epochs, batch 32; 80/20 split, 10% of train for validation.

We output logits and use binary_cross_entropy_with_logits: the same model as sigmoid + BCE,
computed stably (δ = σ(z) - y).
"""

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim, train


def run(
    epochs: int = 10,
    learning_rate: float = 0.01,
    seed: int = 0,
    log=print,
    progress: bool = True,
    **_,
) -> dict:
    tl.manual_seed(seed)
    x, y = data.two_blobs(1000, seed=seed)
    x_train, x_test, y_train, y_test = data.train_test_split(x, y, test_size=0.2, seed=seed)
    x_train, x_val, y_train, y_val = data.train_test_split(
        x_train, y_train, test_size=0.1, seed=seed
    )
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 1))
    loss_fn = nn.functional.binary_cross_entropy_with_logits
    accuracy = lambda logits, target: train.binary_accuracy(logits, target, from_logits=True)
    history = train.fit(
        model,
        data.DataLoader(data.TensorDataset(x_train, y_train), 32, shuffle=True),
        optim.SGD(model.parameters(), lr=learning_rate),
        loss_fn,
        epochs,
        metric=accuracy,
        validation=data.DataLoader(data.TensorDataset(x_val, y_val), 256),
        progress=progress,
        log=log,
    )
    test = train.evaluate(
        model, data.DataLoader(data.TensorDataset(x_test, y_test), 256), loss_fn, accuracy
    )
    log(f"test accuracy {test['accuracy']:.3f}")
    return {"test_accuracy": test["accuracy"], "history": history, "model": model,
            "test_data": (x_test, y_test)}  # fmt: skip


if __name__ == "__main__":
    run()
