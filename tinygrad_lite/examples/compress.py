"""Compression of the E7 CNN: pruning, quantization and distillation, measured side by side.

Trains E7 once on the bundled digits, then prints one table (test accuracy, nonzero weights,
checkpoint size on disk, inference time per batch of 256) for: float32; 90% global magnitude
pruning fine-tuned, run dense, in CSR, and in CSR only where it measured faster; 50% structured
channel pruning fine-tuned and shrunk; int8 dynamic and static post-training quantization;
quantization-aware training; and a capacity-limited student MLP (64-10-10 on the 8x8 digits)
trained alone and distilled from E7, each averaged over 3 seeds.
"""

from __future__ import annotations

import copy
import statistics
import time

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim, quantization, train
from tinygrad_lite.nn.utils import prune, sparse

from . import e7_digits_cnn
from ._digits import digit_loaders
from ._sizes import checkpoint_bytes

TEMPERATURE, ALPHA = 4.0, 0.9  # distillation (Hinton et al.'s setting for small students)


def _accuracy(model, test_loader) -> float:
    loss = e7_digits_cnn.one_hot_cross_entropy
    return train.evaluate(model, test_loader, loss, train.multiclass_accuracy)["accuracy"]


def _nonzero_weights(model) -> int:
    """Stored weight and bias values that are not zero (CSR layers store only those)."""
    state = model.state_dict()
    names = [k for k in state if k.endswith(("weight", "bias", "weight_values", "weight_orig"))]
    masks = {k[: -len("_mask")]: state[k] for k in state if k.endswith("_mask")}
    count = 0
    for name in names:
        values = state[name]
        if name.endswith("_orig"):
            values = values * masks[name[: -len("_orig")]]
        count += int(np.count_nonzero(values))
    return count


def _milliseconds_per_batch(model, batch: tl.Tensor, repeats: int = 15) -> float:
    model.eval()
    times = []
    with tl.no_grad():
        model(batch)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            model(batch)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _fine_tune(model, train_loader, epochs: int, progress: bool, lr: float = 1e-3):
    """Adam with a cosine decay over `epochs` (E7's own schedule, shorter)."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    train.fit(model, train_loader, optimizer, e7_digits_cnn.one_hot_cross_entropy, epochs,
              scheduler=optim.CosineAnnealingLR(optimizer, T_max=epochs), progress=progress,
              log=None)  # fmt: skip
    return model


def _prune_gradually(model, train_loader, schedule, epochs: int, progress: bool):
    """Global L1 pruning up to each fraction of `schedule` in turn, fine-tuning after each step
    (pruning 90% at once and fine-tuning as long cost 1.7 points here, gradually 0.8). The
    first convolution (320 of 93,000 weights, each seeing raw pixels) stays dense, as usual."""
    layers, pruned = _layers(model)[1:], 0.0
    for target in schedule:
        amount = (target - pruned) / (1 - pruned)  # of what is still unpruned
        prune.global_unstructured([(m, "weight") for m in layers], prune.L1Unstructured,
                                  amount=amount)  # fmt: skip
        pruned = target
        _fine_tune(model, train_loader, epochs, progress)
    for layer in layers:
        prune.remove(layer, "weight")
    return model


def _layers(model):
    return [m for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]


def _student(seed: int) -> nn.Module:
    tl.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.ReLU(), nn.Linear(10, 10))


def _train_student(x, y, teacher_logits, x_test, y_test, seed: int, epochs: int) -> float:
    """Test accuracy of the 64-10-10 student after `epochs` of Adam; distilled from the teacher's
    logits when given, from the labels alone otherwise."""
    model = _student(seed)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), 64):
            rows = order[start : start + 64]
            logits = model(tl.tensor(x[rows]))
            if teacher_logits is None:
                loss = nn.functional.cross_entropy(logits, y[rows])
            else:
                loss = nn.functional.distillation_loss(logits, teacher_logits[rows], y[rows],
                                                       TEMPERATURE, ALPHA)  # fmt: skip
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with tl.no_grad():
        predicted = model(tl.tensor(x_test)).numpy().argmax(axis=1)
    return float((predicted == y_test).mean())


def _distillation_rows(teacher, seed: int, epochs: int) -> tuple[dict, dict]:
    """The student alone and distilled, averaged over 3 seeds; the same split as E7's."""
    small, labels = data.load_digits(size=8)
    large, _ = data.load_digits(size=28)
    x_train, x_test, y_train, y_test = data.train_test_split(small, labels, seed=seed)
    large_train, _, _, _ = data.train_test_split(large, labels, seed=seed)
    mean, std = large_train.mean(), large_train.std()
    teacher.eval()
    with tl.no_grad():
        teacher_logits = teacher(tl.tensor((large_train - mean) / std)).numpy()
    results = {}
    for name, logits in (("alone", None), ("distilled", teacher_logits)):
        accuracies = [_train_student(x_train, y_train, logits, x_test, y_test, s, epochs)
                      for s in range(3)]  # fmt: skip
        results[name] = statistics.mean(accuracies)
    student = _student(0)
    size, weights = checkpoint_bytes(student), _nonzero_weights(student)
    x_batch = tl.tensor(x_test[:256])
    ms = _milliseconds_per_batch(student, x_batch)
    names = {"alone": "student 64-10-10 alone",
             "distilled": f"student 64-10-10 distilled (T={TEMPERATURE:g}, α={ALPHA})"}  # fmt: skip
    return tuple({"variant": names[key], "accuracy": accuracy, "weights": weights, "bytes": size,
                  "ms": ms} for key, accuracy in results.items())  # fmt: skip


def run(epochs: int = 15, fine_tune_epochs: int = 3, student_epochs: int = 40, seed: int = 0,
        log=print, progress: bool = True, plot: str | None = None, timing_repeats: int = 15,
        **_) -> dict:  # fmt: skip
    """Train E7, compress it every way, print the table; returns {"rows": [...]}."""
    teacher = e7_digits_cnn.run(epochs=epochs, seed=seed, log=lambda _: None,
                                progress=progress)["model"]  # fmt: skip
    train_loader, test_loader = digit_loaders(64, seed)
    test_batch = next(iter(digit_loaders(256, seed)[1]))[0]
    rows = []

    def measure(variant: str, model) -> None:
        rows.append({"variant": variant, "accuracy": _accuracy(model, test_loader),
                     "weights": _nonzero_weights(model), "bytes": checkpoint_bytes(model),
                     "ms": _milliseconds_per_batch(model, test_batch, timing_repeats)})  # fmt: skip
        log(_format_row(rows[-1], rows[0]))

    log(_format_header())
    measure("float32", teacher)

    pruned = _prune_gradually(copy.deepcopy(teacher), train_loader, (0.5, 0.8, 0.9),
                              fine_tune_epochs, progress)  # fmt: skip
    measure("90% global magnitude pruning, dense", pruned)
    # CSR everywhere (the smallest checkpoint), and only where each layer measured faster on
    # this batch (the break-even is per layer: the convolutions' products are small here)
    measure("90% global magnitude pruning, CSR", sparse.to_sparse(pruned, min_sparsity=0.0))
    measure("90% global magnitude pruning, CSR where faster",
            sparse.to_sparse(pruned, test_batch, min_sparsity=0.0))  # fmt: skip

    channels = copy.deepcopy(teacher)
    for layer in _layers(channels)[:-1]:
        prune.ln_structured(layer, "weight", 0.5, n=2, dim=0)
    _fine_tune(channels, train_loader, 2 * fine_tune_epochs, progress)
    for layer in _layers(channels)[:-1]:
        prune.remove(layer, "weight")
    measure("50% channels pruned, shrunk", prune.shrink(channels, test_batch))

    kinds = {nn.Linear, nn.Conv2d}
    measure("int8 dynamic quantization", quantization.quantize_dynamic(teacher, kinds))
    prepared = quantization.prepare(teacher)
    for _, (x, _labels) in zip(range(10), train_loader):  # 10 calibration batches
        prepared(x)
    measure("int8 static quantization", quantization.convert(prepared))
    qat = quantization.prepare_qat(teacher)
    _fine_tune(qat, train_loader, fine_tune_epochs, progress, lr=1e-4)  # gently: near the end
    measure("int8 quantization-aware training", quantization.convert(qat))

    for row in _distillation_rows(teacher, seed, student_epochs):
        rows.append(row)
        log(_format_row(row, rows[0]))
    if plot:
        _plot(rows, plot)
    return {"rows": rows}


def _format_header() -> str:
    return (f"{'variant':46s} {'accuracy':>8s} {'weights':>8s} {'checkpoint':>16s} "
            f"{'ms/batch':>15s}")  # fmt: skip


def _format_row(row: dict, base: dict) -> str:
    size = f"{row['bytes'] / 1024:7.1f} KiB {row['bytes'] / base['bytes']:4.2f}x"
    time_ = f"{row['ms']:6.2f} {base['ms'] / row['ms']:5.2f}x"
    return (f"{row['variant']:46s} {row['accuracy']:8.2%} {row['weights']:8d} {size:>16s} "
            f"{time_:>15s}")  # fmt: skip


def _plot(rows: list[dict], path: str) -> None:
    from ..plot import _pyplot

    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(9, 4))
    markers = "osD^v<>ph*"
    for i, row in enumerate(rows):
        axis.scatter(row["bytes"] / 1024, row["accuracy"] * 100, marker=markers[i % len(markers)],
                     s=50, label=row["variant"])  # fmt: skip
    axis.set(xscale="log", xlabel="checkpoint size (KiB, log scale)", ylabel="test accuracy (%)",
             title="Compressing E7: accuracy against checkpoint size")  # fmt: skip
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    run()
