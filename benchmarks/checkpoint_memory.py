"""Activation checkpointing's trade: a training step of a 64-layer tanh MLP (width 256, batch
2048, float32, where activations dominate), plain against checkpoint_sequential with √64 = 8
segments: peak traced memory (tracemalloc) and median time, side by side in one run:
`python -m benchmarks.checkpoint_memory`. The issue's targets: peak ≤ 0.4×, time ≤ 1.5×."""

from __future__ import annotations

import statistics
import time
import tracemalloc


def measure(layers: int = 64, width: int = 256, batch: int = 2048, segments: int = 8,
            repeats: int = 3) -> dict:  # fmt: skip
    import tinygrad_lite as tl
    from tinygrad_lite import nn
    from tinygrad_lite.utils.checkpoint import checkpoint_sequential

    tl.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(layers) for m in (nn.Linear(width, width), nn.Tanh())])
    x = tl.randn(batch, width)

    def step(checkpointed: bool) -> None:
        model.zero_grad()
        y = checkpoint_sequential(model, segments, x) if checkpointed else model(x)
        (y * y).mean().backward()

    found = {}
    for checkpointed in (False, True):
        step(checkpointed)  # warm-up: parameters' .grad exist in both measurements
        tracemalloc.start()
        step(checkpointed)
        found[checkpointed] = {"peak_mib": tracemalloc.get_traced_memory()[1] / 2**20,
                               "seconds": []}  # fmt: skip
        tracemalloc.stop()
    for _ in range(repeats):  # interleaved
        for checkpointed in (False, True):
            start = time.perf_counter()
            step(checkpointed)
            found[checkpointed]["seconds"].append(time.perf_counter() - start)
    plain, kept = found[False], found[True]
    return {"plain_peak_mib": plain["peak_mib"], "checkpointed_peak_mib": kept["peak_mib"],
            "plain_s": statistics.median(plain["seconds"]),
            "checkpointed_s": statistics.median(kept["seconds"])}  # fmt: skip


if __name__ == "__main__":
    r = measure()
    memory = r["checkpointed_peak_mib"] / r["plain_peak_mib"]
    kept = r["checkpointed_peak_mib"]
    print(f"peak: plain {r['plain_peak_mib']:.1f} MiB, checkpointed {kept:.1f} "
          f"MiB ({memory:.2f}×); time: plain {r['plain_s']:.2f} s, checkpointed "
          f"{r['checkpointed_s']:.2f} s ({r['checkpointed_s'] / r['plain_s']:.2f}×)")  # fmt: skip
