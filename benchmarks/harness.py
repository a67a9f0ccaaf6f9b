"""Timing discipline shared by every benchmark.

Contenders run interleaved (A B C, B C A, C A B, ...) after a warm-up, so drift in the shared
machine's speed hits all of them alike and none always runs right after the same other; each
sample times `inner` calls; the report gives medians and the min–max range, and ratios only
between contenders measured in the same run.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    case: str
    seconds: dict[str, list[float]] = field(default_factory=dict)

    def median_ms(self, name: str) -> float:
        return statistics.median(self.seconds[name]) * 1e3

    def as_dict(self) -> dict:
        return {
            "case": self.case,
            "median_ms": {n: self.median_ms(n) for n in self.seconds},
            "min_ms": {n: min(v) * 1e3 for n, v in self.seconds.items()},
            "max_ms": {n: max(v) * 1e3 for n, v in self.seconds.items()},
        }


def training_step(cross_entropy, model, optimizer, x, labels) -> Callable[[], object]:
    """One training step (forward, cross-entropy, backward, update) as a closure returning the
    loss. The same code times tinygrad_lite and PyTorch, whose APIs agree here."""

    def step():
        loss = cross_entropy(model(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def mixed_precision_step(cross_entropy, model, optimizer, autocast, scaler, x, labels):
    """One training step under autocast with dynamic loss scaling, as a closure returning the
    loss; `autocast()` opens the autocast context. Same code for tinygrad_lite and PyTorch."""

    def step():
        with autocast():
            loss = cross_entropy(model(x), labels)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        return loss

    return step


def compare(case: str, contenders: dict[str, Callable[[], object]], repeats: int = 15,
            warmup: int = 3, inner: int = 3) -> Result:  # fmt: skip
    """Median seconds per call of each contender, measured interleaved."""
    for run in contenders.values():
        for _ in range(warmup):
            run()
    result = Result(case, {name: [] for name in contenders})
    names = list(contenders)
    for repeat in range(repeats):
        # NOTE: the order rotates: the contender that runs after PyTorch measured up to 15%
        # slower at the CNN step (caches and allocator pages left cold), whichever it was
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            run = contenders[name]
            start = time.perf_counter()
            for _ in range(inner):
                run()
            result.seconds[name].append((time.perf_counter() - start) / inner)
    return result


def environment(threads: int, allocator: str) -> dict:
    import numpy as np

    blas = "unknown"
    try:
        config = np.show_config(mode="dicts")
        info = config["Build Dependencies"]["blas"]
        blas = f"{info.get('name')} {info.get('version')}"
    except Exception:  # noqa: BLE001  (show_config's layout differs across NumPy versions)
        pass
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "threads": threads,
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "blas_threads": _blas_threads(),
        "allocator": allocator,
        "cpus": os.cpu_count(),
    }


def _blas_threads() -> str:
    """The thread count the loaded BLAS really uses (the variables above are only requests)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # NOTE: comes with scikit-learn; without it only the request is known
        return "unknown (pip install threadpoolctl)"
    pools = [info for info in threadpool_info() if info["user_api"] == "blas"]
    return ", ".join(f"{info['internal_api']} {info['num_threads']}" for info in pools) or "none"


def table(results: list[Result], baseline: str = "numpy") -> str:
    """Medians (min–max) per contender, and tinygrad_lite's ratio to each other contender."""
    lines = []
    for r in results:
        cells = [f"{n}: {r.median_ms(n):.3f} ms ({min(v) * 1e3:.3f}–{max(v) * 1e3:.3f})"
                 for n, v in r.seconds.items()]  # fmt: skip
        ratios = [f"ours/{n} = {r.median_ms('tinygrad_lite') / r.median_ms(n):.2f}×"
                  for n in r.seconds if n != "tinygrad_lite"]  # fmt: skip
        lines.append(f"{r.case:28s} " + "  ".join(cells) + "   " + "  ".join(ratios))
    return "\n".join(lines)


def bar_chart(results: list[Result], path: str) -> str:
    """One group of horizontal bars per case: each contender's median time over tinygrad_lite's,
    on a log axis (so 2× faster and 2× slower look alike), min–max as whiskers. The line at 1 is
    us: a bar ending left of it is a contender faster than us, right of it slower."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = sorted({n for r in results for n in r.seconds} - {"tinygrad_lite"})
    colors = dict(zip(others, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    rows = sum(len(r.seconds) for r in results)  # a bar per contender, plus a gap per case
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.16 * rows))
    y, ticks, labelled = 0.0, [], set()
    for r in results:
        ours = r.median_ms("tinygrad_lite")
        present = [n for n in others if n in r.seconds]
        ticks.append(y + (len(present) - 1) / 2)
        for name in present:
            ratio = r.median_ms(name) / ours
            spread = [[ratio - min(r.seconds[name]) * 1e3 / ours],
                      [max(r.seconds[name]) * 1e3 / ours - ratio]]  # fmt: skip
            label = None if name in labelled else name
            ax.barh(y, ratio, 0.8, color=colors[name], label=label, xerr=spread, capsize=2)
            labelled.add(name)
            y += 1
        y += 1
    ax.axvline(1.0, color="black", linewidth=1, label="tinygrad_lite")
    ax.set_xscale("log")
    ax.set_yticks(ticks, [r.case for r in results])
    ax.invert_yaxis()
    ax.set_xlabel("contender's median time / tinygrad_lite's (log scale; > 1: we are faster)")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
