"""E6: the MNIST MLP, 784 -> 128 ReLU -> 10 softmax, Adam, sparse categorical cross-entropy,
5 epochs, batch 32. Trained on the bundled 8×8 digits upscaled to 28×28 (no download needed);
point `tl.data.load_mnist` at real MNIST files to train on MNIST itself.

The model outputs logits: cross_entropy applies the softmax, fused and stable (δ = p - y).
"""

import tinygrad_lite as tl
from tinygrad_lite import nn, optim, train

from ._digits import digit_loaders


def make_model() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def run(
    epochs: int = 5,
    batch_size: int = 32,
    seed: int = 0,
    log=print,
    progress: bool = True,
    device: str = "cpu",
    amp: str | None = None,
    **_,
) -> dict:
    tl.manual_seed(seed)
    train_loader, test_loader = digit_loaders(batch_size, seed)
    model = make_model().to(device)
    log(repr(model))
    history = train.fit(
        model,
        train_loader,
        optim.Adam(model.parameters()),
        nn.functional.cross_entropy,
        epochs,
        metric=train.multiclass_accuracy,
        progress=progress,
        log=log,
        device=device,
        amp=amp,
    )
    test = train.evaluate(
        model, test_loader, nn.functional.cross_entropy, train.multiclass_accuracy, device
    )
    log(f"test accuracy {test['accuracy']:.4f}")
    return {"test_accuracy": test["accuracy"], "history": history, "model": model}


if __name__ == "__main__":
    run()
