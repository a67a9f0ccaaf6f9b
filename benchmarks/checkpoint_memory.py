"""Activation checkpointing's trade: a training step of a 64-layer tanh MLP (width 256, batch
2048, float32, where activations dominate), plain against checkpoint_sequential with √64 = 8
segments: peak traced memory (tracemalloc) and median time, side by side in one run:
`python -m benchmarks.checkpoint_memory`. The issue's targets: peak ≤ 0.4×, time ≤ 1.5×."""

from __future__ import annotations

from . import harness


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

    variants = {"plain": lambda: step(False), "checkpointed": lambda: step(True)}
    (plain_peak, plain_s), (kept_peak, kept_s) = harness.memory_and_time(variants, repeats).values()
    return {"plain_peak_mib": plain_peak, "checkpointed_peak_mib": kept_peak, "plain_s": plain_s,
            "checkpointed_s": kept_s}  # fmt: skip


if __name__ == "__main__":
    r = measure()
    memory = r["checkpointed_peak_mib"] / r["plain_peak_mib"]
    kept = r["checkpointed_peak_mib"]
    print(f"peak: plain {r['plain_peak_mib']:.1f} MiB, checkpointed {kept:.1f} "
          f"MiB ({memory:.2f}×); time: plain {r['plain_s']:.2f} s, checkpointed "
          f"{r['checkpointed_s']:.2f} s ({r['checkpointed_s'] / r['plain_s']:.2f}×)")  # fmt: skip
