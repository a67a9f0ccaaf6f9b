"""Plots for teaching, saved as PNG without a display (matplotlib's Agg backend).

Training curves (`history.plot(path)` for a tl.train.History), a 2-D classifier's decision
boundary, and a histogram of a gradient check's element errors.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .backend import install_hint
from .gradcheck import gradient_errors


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(f"plots need matplotlib: {install_hint('matplotlib', 'plot')}") from None
    return plt


def training_curves(history, path: str | Path) -> Path:
    """Save loss (and accuracy) curves per epoch of a tl.train.History as a PNG, with the
    validation curves where the history has them."""
    plt = _pyplot()
    keys = [k for k in ("loss", "accuracy") if history[k]]
    figure, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.5), squeeze=False)
    for axis, key in zip(axes[0], keys):
        epochs = range(1, len(history[key]) + 1)
        axis.plot(epochs, history[key], marker="o", label="train")
        if history[f"val_{key}"]:
            axis.plot(epochs, history[f"val_{key}"], marker="o", label="validation")
        axis.set(xlabel="epoch", ylabel=key)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)


def decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    path: str | Path,
    title: str = "",
    resolution: int = 200,
    from_logits: bool = False,
) -> Path:
    """Shade P(class 1) over the plane of 2-D points x and draw the 0.5 contour, with the points
    coloured by label y.

    Args:
        predict: maps an (M, 2) array of points to M probabilities of class 1, e.g.
            `lambda p: model(tl.tensor(p)).sigmoid().numpy()[:, 0]`, or with `from_logits=True`
            to M logits (σ is applied here), e.g. `lambda p: model(tl.tensor(p)).numpy()[:, 0]`.

    Raises:
        ValueError: values outside [0, 1] without from_logits (logits are not probabilities).
    """
    plt = _pyplot()
    x, y = np.asarray(x), np.asarray(y).ravel()
    pad = 0.1 * (x.max(axis=0) - x.min(axis=0))
    lows, highs = x.min(axis=0) - pad, x.max(axis=0) + pad
    u, v = np.meshgrid(
        np.linspace(lows[0], highs[0], resolution), np.linspace(lows[1], highs[1], resolution)
    )
    grid = np.column_stack([u.ravel(), v.ravel()]).astype(x.dtype)
    probability = np.asarray(predict(grid), dtype=np.float64).reshape(u.shape)
    if from_logits:
        probability = 0.5 * (1 + np.tanh(probability / 2))  # σ, without overflow
    elif probability.size and (probability.min() < 0 or probability.max() > 1):
        raise ValueError(
            "decision_boundary: predict returned values outside [0, 1], logits rather than "
            "probabilities; pass from_logits=True (or apply a sigmoid)"
        )
    figure, axis = plt.subplots(figsize=(5, 4.5))
    shading = axis.contourf(
        u, v, probability, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6
    )
    axis.contour(u, v, probability, levels=[0.5], colors="k", linewidths=1.5)
    axis.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=18)
    figure.colorbar(shading, label="P(class 1)")
    axis.set(xlabel="x0", ylabel="x1", title=title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)


def gradcheck_histogram(fn, inputs, path: str | Path, eps: float = 1e-6) -> Path:
    """Histogram (log scale) of |analytic − numeric| per gradient element, one colour per input:
    where the errors sit relative to finite-difference noise."""
    plt = _pyplot()
    errors = gradient_errors(fn, inputs, eps)
    figure, axis = plt.subplots(figsize=(5.5, 3.5))
    smallest = min((e[e > 0].min() for e in errors if (e > 0).any()), default=1e-16)
    largest = max((e.max() for e in errors), default=1.0)
    bins = np.logspace(np.log10(smallest) - 0.5, np.log10(max(largest, smallest * 10)) + 0.5, 30)
    for i, e in enumerate(errors):
        axis.hist(np.maximum(e.ravel(), smallest), bins=bins, alpha=0.6, label=f"input {i}")
    axis.set(
        xscale="log",
        xlabel="|analytic − numeric|",
        ylabel="elements",
        title="gradient check errors",
    )
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)


def float16_range(magnitudes: dict[str, np.ndarray], path: str | Path) -> Path:
    """Histogram of log2|g| for each labelled set of values (e.g. gradients at loss scale 1 and
    2¹⁶) against float16's range: values below 2⁻²⁵ round to zero, those below 2⁻¹⁴ are
    subnormal (fewer significant bits), those above 65504 overflow to inf."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 3.5))
    bins = np.arange(-60, 22, 1.0)
    for label, values in magnitudes.items():
        values = np.abs(np.asarray(values, dtype=np.float64)).ravel()
        values = values[values > 0]
        axis.hist(np.clip(np.log2(values), bins[0], bins[-1]), bins=bins, alpha=0.55, label=label)
    axis.axvspan(bins[0], -25, color="red", alpha=0.12, label="flushes to 0 (< 2⁻²⁵)")
    axis.axvspan(-25, -14, color="orange", alpha=0.12, label="subnormal (< 2⁻¹⁴)")
    axis.axvspan(np.log2(65504), bins[-1], color="purple", alpha=0.12, label="overflows (> 65504)")
    axis.set(xlabel="log₂ |value|", ylabel="elements", title="float16's range")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path)
