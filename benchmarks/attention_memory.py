"""Attention at T = 2048, d = 64, 4 heads, batch 1, causal, float32: forward + backward peak
traced memory (tracemalloc) and median time, the plain path (the (T, T) matrices) against the
blocked one (ops/attention.py), side by side in one run: `python -m benchmarks.attention_memory`.
The issue's targets: peak ≤ 0.15×, time ≤ 1.3× the plain path's."""

from __future__ import annotations

import numpy as np

from . import harness


def measure(length: int = 2048, heads: int = 4, width: int = 64, repeats: int = 3) -> dict:
    import tinygrad_lite as tl
    import tinygrad_lite.nn.attention as attention

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((1, heads, length, width)).astype(np.float32) for _ in range(3)]

    def step(blocked: bool) -> None:
        attention.BLOCKED_ABOVE = 0 if blocked else 10**18
        q, k, v = (tl.tensor(a, requires_grad=True) for a in arrays)
        tl.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).sum().backward()

    saved = attention.BLOCKED_ABOVE
    try:
        variants = {"plain": lambda: step(False), "blocked": lambda: step(True)}
        found = harness.memory_and_time(variants, repeats)
    finally:
        attention.BLOCKED_ABOVE = saved
    (plain_peak, plain_s), (blocked_peak, blocked_s) = found["plain"], found["blocked"]
    return {"plain_peak_mib": plain_peak, "blocked_peak_mib": blocked_peak, "plain_s": plain_s,
            "blocked_s": blocked_s}  # fmt: skip


if __name__ == "__main__":
    r = measure()
    memory = r["blocked_peak_mib"] / r["plain_peak_mib"]
    print(f"peak: plain {r['plain_peak_mib']:.1f} MiB, blocked {r['blocked_peak_mib']:.1f} MiB "
          f"({memory:.3f}×); time: plain {r['plain_s']:.2f} s, blocked {r['blocked_s']:.2f} s "
          f"({r['blocked_s'] / r['plain_s']:.2f}×)")  # fmt: skip
