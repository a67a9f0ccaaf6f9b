"""A small training loop: `fit` and `evaluate`, with a progress bar, history and early stopping.

The loop inside `fit` is the plain one (zero_grad, forward, loss, backward, step) that the
examples also write out by hand; `fit` adds bookkeeping around it, nothing hidden.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .autograd import no_grad
from .data.loader import split_loader
from .nn.module import Module
from .optim.optimizer import Optimizer
from .tensor import Tensor

Metric = Callable[[Tensor, Tensor], float]


def multiclass_accuracy(outputs: Tensor, targets: Tensor) -> float:
    """Fraction of rows whose largest output is the target class (labels or one-hot rows)."""
    predicted = outputs.numpy().argmax(axis=1)
    labels = targets.numpy()
    labels = labels.argmax(axis=1) if labels.ndim == 2 else labels
    return float((predicted == labels).mean())


def binary_accuracy(outputs: Tensor, targets: Tensor, threshold: float | None = None,
                    from_logits: bool = False) -> float:  # fmt: skip
    """Fraction of outputs on the target's side of the decision threshold: 0.5 for probabilities
    (a sigmoid's output), 0 for logits (`from_logits=True`: σ(z) ≥ 0.5 exactly when z ≥ 0), or
    `threshold` when given.

    Raises:
        ValueError: outputs outside [0, 1] without from_logits (they are logits: thresholding
            them at 0.5 would count the wrong side).
    """
    values = np.asarray(outputs.numpy() if isinstance(outputs, Tensor) else outputs)
    if threshold is None:
        if not from_logits and values.size and (values.min() < 0 or values.max() > 1):
            raise ValueError(
                "binary_accuracy: outputs outside [0, 1] are logits, not probabilities; pass "
                "from_logits=True (threshold 0), or a threshold"
            )
        threshold = 0.0 if from_logits else 0.5
    target = np.asarray(targets.numpy() if isinstance(targets, Tensor) else targets)
    return float(((values >= threshold) == (target >= 0.5)).mean())


@dataclass
class History:
    """Per-epoch averages: history.records[i] = {'loss': ..., 'accuracy': ..., 'val_loss': ...}."""

    records: list[dict[str, float]] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[float]:
        return [record[key] for record in self.records if key in record]

    def plot(self, path: str | Path) -> Path:
        """Save loss (and accuracy) curves per epoch as a PNG (see `tl.plot.training_curves`)."""
        from .plot import training_curves

        return training_curves(self, path)


def evaluate(model: Module, loader, loss_fn: Callable, metric: Metric | None = None,
             device=None) -> dict:  # fmt: skip
    """Mean loss (and metric) over a loader, in eval mode and without recording a graph; batches
    are moved to `device` (the model's) when given."""
    was_training = model.training
    model.eval()
    total_loss, total_metric, count = 0.0, 0.0, 0
    with no_grad():
        for x, y in _on(loader, device):
            outputs = model(x)
            total_loss += loss_fn(outputs, y).item() * len(x)
            if metric is not None:
                total_metric += metric(outputs, y) * len(x)
            count += len(x)
    model.train(was_training)
    _check_batches(count, "evaluate")
    result = {"loss": total_loss / count}
    if metric is not None:
        result["accuracy"] = total_metric / count
    return result


def _check_batches(count: int, name: str) -> None:
    if count == 0:
        raise ValueError(
            f"{name}: the loader yielded no batches (an empty dataset, or fewer samples than "
            "batch_size with drop_last=True)"
        )


def _on(batches, device):
    """The (x, y) batches moved to `device` (unchanged when None)."""
    if device is None:
        yield from batches
        return
    for x, y in batches:
        yield x.to(device), y.to(device)


def _progress(loader, enabled: bool, description: str):
    if not enabled:
        return loader
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return loader
    return tqdm(loader, desc=description, leave=False, unit="batch")


def fit(
    model: Module,
    loader,
    optimizer: Optimizer,
    loss_fn: Callable,
    epochs: int,
    metric: Metric | None = None,
    validation=None,
    patience: int | None = None,
    scheduler=None,
    validation_split: float | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    device=None,
    on_nonfinite: str = "raise",
    amp: str | None = None,
    accumulate: int = 1,
) -> History:
    """Train for `epochs` epochs and return the History of per-epoch averages.

    Args:
        validation: a loader evaluated after each epoch (val_loss, val_accuracy).
        validation_split: instead, hold out this fraction of the training loader's samples.
        patience: stop after this many epochs without a better val_loss, restoring the best
            weights (needs `validation`).
        scheduler: a learning-rate scheduler, stepped once per epoch.
        progress: show a tqdm bar per epoch (when tqdm is installed).
        log: called with one line per epoch (None: silent).
        device: move each batch there ('cuda' after `model.to('cuda')`); None: leave them.
        amp: "float16" or "bfloat16": mixed precision (tl.amp.autocast around the forward and
            the loss; with float16 also a tl.amp.GradScaler, whose skipped steps are not
            failures). None: full precision.
        on_nonfinite: a loss that is NaN or inf, before its update: 'raise' (FloatingPointError
            naming the epoch and step; the parameters keep their last finite values), 'warn'
            (a RuntimeWarning, and the update is skipped), or 'ignore' (step anyway).
        accumulate: gradient accumulation: one optimizer step per `accumulate` batches, their
            gradients summed with each batch's mean loss weighted by its share of the group's
            samples, so the step equals one on the concatenated batch (up to rounding), also
            for a shorter last group. A non-finite loss, or a GradScaler's skipped step, skips
            the whole group.

    Raises:
        ValueError: the loader yields no batches, or a bad argument.
        FloatingPointError: a non-finite loss, with on_nonfinite='raise'.
    """
    if on_nonfinite not in ("raise", "warn", "ignore"):
        raise ValueError(
            f"fit: on_nonfinite must be 'raise', 'warn' or 'ignore', got {on_nonfinite!r}"
        )
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be an integer >= 0, got {epochs!r}")
    if (
        isinstance(accumulate, bool)
        or not isinstance(accumulate, (int, np.integer))
        or accumulate < 1
    ):
        raise ValueError(f"fit: accumulate must be an integer >= 1, got {accumulate!r}")
    precision = _mixed_precision(amp)
    if validation_split is not None:
        if validation is not None:
            raise ValueError("fit: give either validation or validation_split, not both")
        loader, validation = split_loader(loader, validation_split)
    if patience is not None and validation is None:
        raise ValueError("fit: early stopping (patience) needs a validation loader")
    history, best, best_state, waited = History(), np.inf, None, 0
    for epoch in range(1, epochs + 1):
        bar = _progress(loader, progress, f"epoch {epoch}/{epochs}")
        record = _train_one_epoch(model, bar, optimizer, loss_fn, metric, device,
                                  (epoch, on_nonfinite), precision, accumulate)  # fmt: skip
        if validation is not None:
            scores = evaluate(model, validation, loss_fn, metric, device)
            record.update({f"val_{k}": v for k, v in scores.items()})
        history.records.append(record)
        if scheduler is not None:
            scheduler.step()
        if log is not None:
            log(f"epoch {epoch}/{epochs}  " + "  ".join(f"{k} {v:.4f}" for k, v in record.items()))
        if patience is not None:
            if record["val_loss"] < best:
                best, best_state, waited = record["val_loss"], model.state_dict(), 0
            elif (waited := waited + 1) >= patience:
                if log is not None:
                    log(f"early stop: no better val_loss for {patience} epochs")
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _mixed_precision(amp: str | None):
    """(autocast context, GradScaler) for fit's `amp` argument; both pass-through for None."""
    from . import amp as mixed
    from .backend import bfloat16

    if amp not in (None, "float16", "bfloat16"):
        raise ValueError(f"fit: amp must be None, 'float16' or 'bfloat16', got {amp!r}")
    dtype = bfloat16() if amp == "bfloat16" else np.float16
    return (mixed.autocast(dtype=dtype, enabled=amp is not None),
            mixed.GradScaler(enabled=amp == "float16"))  # fmt: skip


def _groups(batches, size: int):
    """The batches in lists of `size` (the last may be shorter): one optimizer step each."""
    group = []
    for batch in batches:
        group.append(batch)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _train_one_epoch(model: Module, bar, optimizer, loss_fn, metric, device,
                     nonfinite: tuple[int, str], precision,
                     accumulate: int = 1) -> dict[str, float]:  # fmt: skip
    """The plain loop over one epoch (one step per `accumulate` batches); returns the
    sample-weighted mean loss (and metric)."""
    autocast, scaler = precision
    model.train()
    total_loss, total_metric, count, step = 0.0, 0.0, 0, 0
    for group in _groups(_on(bar, device), accumulate):
        samples = sum(len(x) for x, _ in group)
        optimizer.zero_grad()
        losses, refused = [], False
        for position, (x, y) in enumerate(group, start=1):
            step += 1
            # DDP: average across ranks once per group, at its last backward
            local = position < len(group) and hasattr(model, "no_sync")
            with autocast:
                outputs = model(x)
                loss = loss_fn(outputs, y)
            if not np.isfinite(loss.item()) and _refuse_update(loss.item(), step, *nonfinite):
                refused = True  # NOTE: the whole group: its other batches' gradients alone
                break  # would be a step on a smaller, biased batch
            # a mean loss times the batch's share: the group's gradients sum to the gradient of
            # the mean over all its samples
            share = len(x) / samples
            with model.no_sync() if local else contextlib.nullcontext():
                scaler.scale(loss * share if accumulate > 1 else loss).backward()
            score = metric(outputs, y) * len(x) if metric is not None else 0.0
            losses.append((loss.item(), len(x), score))
        if refused:
            optimizer.zero_grad()
            continue
        scaler.step(optimizer)
        scaler.update()
        total_loss += sum(value * n for value, n, _ in losses)
        count += sum(n for _, n, _ in losses)
        total_metric += sum(score for _, _, score in losses)
        if hasattr(bar, "set_postfix"):  # a tqdm bar
            bar.set_postfix(loss=f"{total_loss / count:.4f}")
    _check_batches(step, "fit")
    if count == 0:  # every step skipped for a non-finite loss
        return {"loss": float("nan")}
    record = {"loss": total_loss / count}
    if metric is not None:
        record["accuracy"] = total_metric / count
    return record


def _refuse_update(loss: float, step: int, epoch: int, policy: str) -> bool:
    """True when a non-finite loss's update must be skipped; raises under 'raise'."""
    message = f"fit: the loss is {loss} at epoch {epoch}, step {step}"
    if policy == "raise":
        raise FloatingPointError(
            f"{message}; the parameters keep their values from before this step (lower the "
            "learning rate, or pass on_nonfinite='warn' to skip such steps)"
        )
    if policy == "warn":
        warnings.warn(f"{message}; its update is skipped", RuntimeWarning, stacklevel=4)
        return True
    return False
