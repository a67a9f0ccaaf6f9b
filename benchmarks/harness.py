"""Timing discipline shared by every benchmark.

Contenders run interleaved (A B C, B C A, C A B, ...) after a warm-up, so drift in the shared
machine's speed hits all of them alike and none always runs right after the same other; each
sample times `inner` calls; the report gives medians and the min–max range, and ratios only
between contenders measured in the same run.
"""

from __future__ import annotations

import datetime
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


def memory_and_time(variants: dict[str, Callable[[], object]], repeats: int = 3) -> dict:
    """{name: (peak traced MiB of one call, median seconds)} for each variant: a warm-up call,
    one call under tracemalloc, then `repeats` timed calls interleaved across the variants."""
    import tracemalloc

    found = {}
    for name, run in variants.items():
        run()  # warm-up: lazily made state (parameters' .grad) exists in every measurement
        tracemalloc.start()
        run()
        found[name] = [tracemalloc.get_traced_memory()[1] / 2**20, []]
        tracemalloc.stop()
    for _ in range(repeats):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            found[name][1].append(time.perf_counter() - start)
    return {name: (peak, statistics.median(seconds)) for name, (peak, seconds) in found.items()}


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
        "date": datetime.date.today().isoformat(),
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


CHARTED = ("numpy", "torch")  # the floor and the reference; the peers stay in the table


def bar_chart(results: list[Result], path: str) -> str:
    """The training steps at a glance: per step, tinygrad_lite's median time over hand-written
    NumPy's and over PyTorch's (the table's ratios, ours/contender), on a log axis (2× faster
    and 2× slower look alike), min–max as whiskers. Left of the line at 1 we are faster."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r for r in results if "step" in r.case] or results
    colors = dict(zip(CHARTED, ("#4c72b0", "#dd8452")))
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.42 * len(steps)))
    for row, r in enumerate(steps):
        ours = r.median_ms("tinygrad_lite")
        for k, name in enumerate(n for n in CHARTED if n in r.seconds):
            ratio = ours / r.median_ms(name)
            y = row + (k - 0.5) * 0.38
            ax.barh(y, ratio, 0.36, color=colors[name],
                    label=f"ours / {name}" if row == 0 else None)  # fmt: skip
            ax.text(ratio, y, f" {ratio:.2f}×", va="center", fontsize=7)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if ax.get_xlim()[0] <= t]
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda t, _: f"{t:g}×"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlim(right=ax.get_xlim()[1] * 1.3)  # room for the last label
    ax.set_yticks(range(len(steps)), [r.case for r in steps], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("tinygrad_lite's median time / the contender's (log scale; < 1: we are faster)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize="small",
              frameon=False)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
