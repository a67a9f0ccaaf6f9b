"""python -m benchmarks [tiny] [mlp] [cnn] [peers] [ops] [compress] [--repeats N] [--threads T]
[--malloc tuned|default] [--json FILE] [--plot PNG] [--quick]: time tinygrad_lite against
hand-written NumPy, PyTorch and other NumPy autograd engines, print a table of medians (min–max)
and ratios, optionally write JSON and a bar chart."""

from __future__ import annotations

import argparse
import json
import os
import sys

SUITES = ("tiny", "mlp", "cnn", "peers", "ops", "compress", "gpt")
DEFAULT = SUITES[:-1]  # gpt only when asked: a minute of its own


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("suites", nargs="*", help=f"any of {', '.join(SUITES)} (default: all)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--malloc", choices=("tuned", "default"), default="tuned")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--plot", help="also draw the ratios as a bar chart PNG (matplotlib)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats: a smoke run")
    args = parser.parse_args(argv)
    unknown = set(args.suites) - set(SUITES)
    if unknown:
        parser.error(f"unknown suites {sorted(unknown)}; choose from {', '.join(SUITES)}")
    args.suites = args.suites or list(DEFAULT)
    return args


def main(argv=None) -> int:
    args = parse(argv)
    # NOTE: thread counts must be set before NumPy (and its BLAS) is first imported
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    # NOTE: PyTorch's OpenMP workers otherwise spin after each call, stealing a core from the
    # contender timed next; passive waiting keeps the interleaved timings independent
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # NOTE: tinygrad_lite tunes malloc when first imported (tinygrad_lite/allocator.py); the
    # setting is process-wide, so every contender runs under the same one
    os.environ["TINYGRAD_LITE_MALLOC"] = args.malloc
    import tinygrad_lite

    from . import cnn, compress, gpt, harness, mlp, ops, peers, tiny

    allocator = tinygrad_lite.allocator.SETTING
    if not allocator.startswith("mallopt" if args.malloc == "tuned" else "default"):
        print(f"note: --malloc {args.malloc} asked, but the allocator is {allocator} "
              "(tinygrad_lite was imported before; run python -m benchmarks)",
              file=sys.stderr)  # fmt: skip
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(args.threads)
    else:
        print("note: PyTorch is not installed: its column is left out (pip install "
              "torch==2.13.0, a CPU build)", file=sys.stderr)  # fmt: skip
    if args.quick:
        print("note: --quick runs tiny sizes with 2 repeats, a smoke test: its ratios are not "
              "measurements", file=sys.stderr)  # fmt: skip
    repeats = 2 if args.quick else args.repeats
    results = []
    if "tiny" in args.suites:
        for case in tiny.CASES:
            for jitted in (False, True):
                runs = tiny.contenders(case, torch, jitted)
                name = f"{case}{', jit' if jitted else ''}"
                results.append(harness.compare(name, runs, repeats=repeats, inner=20))
        runs = tiny.raw_xor_contenders(torch)
        results.append(harness.compare("xor step, raw ops as E1 teaches", runs, repeats=repeats,
                                       inner=20))  # fmt: skip
    if "mlp" in args.suites:
        for batch in (8,) if args.quick else (32, 128, 512):
            runs = mlp.contenders(batch, args.threads)
            results.append(harness.compare(f"mlp step, batch {batch}", runs, repeats=repeats))
            runs["tinygrad_lite"] = tinygrad_lite.jit(mlp.tinygrad_step(batch))
            results.append(harness.compare(f"mlp step, batch {batch}, jit", runs, repeats=repeats))
    if "cnn" in args.suites:
        for batch in (4,) if args.quick else (32, 128):
            runs = cnn.contenders(batch, args.threads)
            results.append(harness.compare(f"cnn step, batch {batch}", runs, repeats=repeats))
            runs["tinygrad_lite"] = tinygrad_lite.jit(runs["tinygrad_lite"])
            results.append(harness.compare(f"cnn step, batch {batch}, jit", runs, repeats=repeats))
    if "peers" in args.suites:
        if peers.missing():
            print(f"note: peer engines not installed: {', '.join(peers.missing())}; their rows "
                  'are left out (pip install -e ".[bench]" installs them)',
                  file=sys.stderr)  # fmt: skip
        for batch in (8,) if args.quick else (32, 128, 512):
            runs = {"tinygrad_lite": mlp.tinygrad_step(batch), "numpy": mlp.numpy_step(batch),
                    **peers.contenders(batch)}  # fmt: skip
            results.append(harness.compare(f"mlp vs peers, batch {batch}", runs, repeats=repeats))
    if "ops" in args.suites:
        sizes = {"small": 4} if args.quick else ops.SIZES
        for name, case in ops.CASES.items():
            for label, n in sizes.items():
                results.append(
                    harness.compare(f"{name} ({label}, n={n})", case(n, torch), repeats=repeats)
                )
    if "gpt" in args.suites:
        for jitted in (False, True):
            runs = gpt.contenders(torch, jitted)
            name = f"gpt step (E9 shape){', jit' if jitted else ''}"
            results.append(harness.compare(name, runs, repeats=repeats, inner=1))
        lstm = gpt.lstm_contenders(torch)
        results.append(harness.compare("lstm step (hidden 128, 64 steps, batch 32)", lstm,
                                       repeats=repeats, inner=1))  # fmt: skip
        generation = gpt.generation_contenders()  # slow: a few repeats are plenty
        results.append(harness.compare(f"generate {gpt.GENERATED} tokens", generation,
                                       repeats=min(repeats, gpt.GENERATION_REPEATS), warmup=1,
                                       inner=1))  # fmt: skip
    if "compress" in args.suites:
        for case, runs in compress.cases(args.quick).items():
            results.append(harness.compare(case, runs, repeats=repeats))
    env = harness.environment(args.threads, allocator)
    print("environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    print(harness.table(results))
    if args.plot:
        print(f"bar chart: {harness.bar_chart(results, args.plot)}")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(
                {
                    "environment": {**env, "repeats": repeats},
                    "command": " ".join(sys.argv),
                    "results": [r.as_dict() for r in results],
                },
                file,
                indent=2,  # fmt: skip
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
