"""E7: the MNIST CNN. Conv 32@3×3 ReLU -> MaxPool 2 -> Conv 64@3×3 ReLU -> MaxPool 2 ->
Conv 64@3×3 ReLU -> Flatten -> Dense 64 ReLU -> Dense 10 softmax (valid padding); Adam,
categorical cross-entropy on one-hot labels, batch 64, 15 epochs (the article's 5 are too few
for the 1,437 bundled training digits).

Trained on the bundled digits upscaled to 28×28, so the architecture applies unchanged:
28 -> 26 -> 13 -> 11 -> 5 -> 3, and 64·3·3 = 576 features reach the dense layers. The digits
have 1,437 training images where MNIST has 60,000, so 5 epochs are only 115 Adam steps. We
train 15 epochs with a cosine learning-rate decay, from Keras's initialization (the article's
framework: Glorot-uniform weights, zero biases). Measured test accuracy: 98.3% (split seed 0),
96.7% (seed 1); after only 5 epochs about 95%.
"""

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim, train

from ._digits import digit_loaders


def init_like_keras_(model: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases, Keras's defaults for Dense and Conv2D."""
    for layer in model.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * 3 * 3, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def one_hot_cross_entropy(logits, labels):
    """Categorical cross-entropy against one-hot rows, as the article trains it."""
    one_hot = np.eye(10, dtype=np.float32)[labels.numpy()]
    return nn.functional.cross_entropy(logits, one_hot)


def run(
    epochs: int = 15,
    batch_size: int = 64,
    seed: int = 0,
    log=print,
    progress: bool = True,
    device: str = "cpu",
    amp: str | None = None,
    **_,
) -> dict:
    tl.manual_seed(seed)
    train_loader, test_loader = digit_loaders(batch_size, seed)
    model = init_like_keras_(make_model()).to(device)
    log(repr(model))
    optimizer = optim.Adam(model.parameters())
    history = train.fit(
        model,
        train_loader,
        optimizer,
        one_hot_cross_entropy,
        epochs,
        metric=train.multiclass_accuracy,
        scheduler=optim.CosineAnnealingLR(optimizer, T_max=epochs),
        progress=progress,
        log=log,
        device=device,
        amp=amp,
    )
    test = train.evaluate(
        model, test_loader, one_hot_cross_entropy, train.multiclass_accuracy, device
    )
    log(f"test accuracy {test['accuracy']:.4f}")
    return {"test_accuracy": test["accuracy"], "history": history, "model": model}


if __name__ == "__main__":
    run()
