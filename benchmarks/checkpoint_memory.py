"""Activation checkpointing's trade: a training step of a 64-layer tanh MLP (width 256, batch
2048, float32, where activations dominate), plain against checkpoint_sequential with √64 = 8
segments: peak traced memory (tracemalloc) and median time, side by side in one run:
`python -m benchmarks.checkpoint_memory`. The issue's targets: peak ≤ 0.4×, time ≤ 1.5×.
`measure_gpt` does the same for a training step of an 8-block GPT of E9's width (batch 32,
context 64), each block its own checkpointed segment, as transformers are usually checkpointed."""

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


def measure_gpt(blocks: int = 8, batch: int = 32, context: int = 64, repeats: int = 3) -> dict:
    import numpy as np

    import tinygrad_lite as tl
    from tinygrad_lite import nn
    from tinygrad_lite.examples.e9_gpt import GPT
    from tinygrad_lite.utils.checkpoint import checkpoint_sequential

    tl.manual_seed(0)
    vocabulary = 96
    model = GPT(vocabulary, width=128, layers=blocks, heads=4, context=context)
    rng = np.random.default_rng(0)
    idx, targets = (rng.integers(0, vocabulary, (batch, context)) for _ in range(2))

    def step(checkpointed: bool) -> None:
        model.zero_grad()
        x = model.token(idx) + model.position(np.arange(context))
        x = checkpoint_sequential(model.blocks, blocks, x) if checkpointed else model.blocks(x)
        logits = model.head(model.ln_f(x)).reshape(-1, vocabulary)
        nn.functional.cross_entropy(logits, targets.reshape(-1)).backward()

    variants = {"plain": lambda: step(False), "checkpointed": lambda: step(True)}
    (plain_peak, plain_s), (kept_peak, kept_s) = harness.memory_and_time(variants, repeats).values()
    return {"plain_peak_mib": plain_peak, "checkpointed_peak_mib": kept_peak, "plain_s": plain_s,
            "checkpointed_s": kept_s}  # fmt: skip


def report(name: str, r: dict) -> str:
    memory = r["checkpointed_peak_mib"] / r["plain_peak_mib"]
    return (f"{name}: peak plain {r['plain_peak_mib']:.1f} MiB, checkpointed "
            f"{r['checkpointed_peak_mib']:.1f} MiB ({memory:.2f}×); time plain "
            f"{r['plain_s']:.2f} s, checkpointed {r['checkpointed_s']:.2f} s "
            f"({r['checkpointed_s'] / r['plain_s']:.2f}×)")  # fmt: skip


if __name__ == "__main__":
    print(report("64-layer tanh MLP, 8 segments", measure()))
    print(report("8-block GPT, a segment per block", measure_gpt()))
