"""E8: an image-folder classifier. Conv 64@3×3 pad 1 -> ReLU -> MaxPool 2 -> Conv 128@3×3 pad 1
-> ReLU -> MaxPool 2 -> Flatten -> Linear 1024 -> ReLU -> Linear (classes); Adam lr 1e-3,
cross-entropy, 10 epochs, batch 64; prints each epoch's mean loss, then the test accuracy.

The article prints in_features=71648 for the first Linear. After two 2× poolings of 224×224
images with 128 channels it is 128·56·56 = 401,408 (here: 128·(size/4)²). That Linear alone
holds 411 M weights at size 224, so on a CPU use a small `size`. Without a folder, `run` makes
a small synthetic one (coloured shapes) to show the whole pipeline.
"""

import tempfile
from pathlib import Path

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim, train


def make_model(size: int, classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128 * (size // 4) ** 2, 1024),
        nn.ReLU(),
        nn.Linear(1024, classes),
    )


def write_synthetic_folder(root: Path, per_class: int = 24, size: int = 24, seed: int = 0) -> Path:
    """Three classes of noisy pictures: a bright square, a bright bar, or a dark background."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name in ("square", "bar", "plain"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.uniform(0, 80, (size, size, 3))
            r, c = rng.integers(0, size // 2, 2)
            if name == "square":
                pixels[r : r + size // 3, c : c + size // 3] = 230
            elif name == "bar":
                pixels[:, c : c + 3] = 230
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def run(
    folder=None,
    size: int = 32,
    epochs: int = 10,
    batch_size: int = 64,
    seed: int = 0,
    log=print,
    progress: bool = True,
    **_,
) -> dict:
    tl.manual_seed(seed)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(folder) if folder else write_synthetic_folder(Path(scratch), seed=seed)
        images, labels, classes = data.load_image_folder(root, size=size)
    x_train, x_test, y_train, y_test = data.train_test_split(
        images, labels, test_size=0.25, seed=seed
    )
    model = make_model(size, len(classes))
    log(f"{len(images)} images, classes {classes}\n{model!r}")
    loader = data.DataLoader(
        data.TensorDataset(x_train, y_train), batch_size, shuffle=True, seed=seed
    )
    history = train.fit(
        model,
        loader,
        optim.Adam(model.parameters(), lr=1e-3),
        nn.functional.cross_entropy,
        epochs,
        progress=progress,
        log=log,
    )
    test = train.evaluate(
        model,
        data.DataLoader(data.TensorDataset(x_test, y_test), batch_size),
        nn.functional.cross_entropy,
        train.multiclass_accuracy,
    )
    log(f"test accuracy {test['accuracy']:.4f}")
    return {"test_accuracy": test["accuracy"], "losses": history["loss"]}


if __name__ == "__main__":
    run()
