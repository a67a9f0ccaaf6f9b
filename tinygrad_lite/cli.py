"""The `tinygrad-lite` command (also `python -m tinygrad_lite`).

tinygrad-lite demo [NAME] [--epochs N]   train an example on the embedded data (default: E7)
tinygrad-lite list                       the examples
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .examples import EXAMPLES


def _describe(name: str) -> str:
    module = importlib.import_module(f"tinygrad_lite.examples.{EXAMPLES[name]}")
    return (module.__doc__ or "").strip().splitlines()[0]


def bench(argv: list[str]) -> int:
    """Run the benchmark suite, which lives in the source checkout's benchmarks/ folder."""
    checkout = Path(__file__).resolve().parents[1]
    if not (checkout / "benchmarks" / "__main__.py").exists():
        print("tinygrad-lite bench: the benchmarks ship with the source repository; run it from a "
              "checkout installed with pip install -e .", file=sys.stderr)  # fmt: skip
        return 2
    # NOTE: a fresh interpreter, because thread counts and the allocator must be set before
    # NumPy and tinygrad_lite are first imported, and this process has imported both already
    path = os.pathsep.join(filter(None, [str(checkout), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "benchmarks", *argv]
    return subprocess.call(command, env={**os.environ, "PYTHONPATH": path})


def _load(target: str):
    """'package.module:Name' -> the object (the current directory is importable, for user code)."""
    module_name, _, name = target.partition(":")
    if not name:
        raise SystemExit(f"gradcheck: expected MODULE:NAME, got {target!r}")
    sys.path.insert(0, ".")
    return getattr(importlib.import_module(module_name), name)


def gradcheck_command(args) -> int:
    import numpy as np

    from . import manual_seed, testing
    from .gradcheck import random_stream
    from .nn import Module

    manual_seed(args.seed)
    target = _load(args.target)
    init = json.loads(args.init_args)
    if isinstance(target, type):
        target = target(**init) if isinstance(init, dict) else target(*init)
    shape = tuple(int(n) for n in args.input_shape.split(",") if n)
    batches = tuple(int(n) for n in args.batch_sizes.split(","))
    if isinstance(target, Module):
        report = testing.check_module(target, shape, batches, seed=args.seed,
                                      code_dtype=args.code_dtype)  # fmt: skip
    else:
        x = random_stream(args.seed, "inputs").standard_normal((batches[0], *shape))
        report = testing.check_gradients(target, x, seed=args.seed, code_dtype=args.code_dtype)
    print(report)
    return 0 if report.passed else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # NOTE: the benchmark runner parses its own options
        return bench(argv[1:])
    parser = argparse.ArgumentParser(prog="tinygrad-lite", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train an example program on the embedded data")
    demo.add_argument("name", nargs="?", default="e7", choices=sorted(EXAMPLES))
    demo.add_argument("--epochs", type=int, help="override the example's number of epochs")
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.add_argument("--device", default="cpu", help="cpu or cuda (E6, E7)")
    commands.add_parser("list", help="list the examples")
    commands.add_parser("bench", help="benchmarks (options: python -m benchmarks --help)")
    check = commands.add_parser(
        "gradcheck", help="check the gradients of your own layer or function"
    )
    check.add_argument("target", help="package.module:Name of a Module class, instance or function")
    check.add_argument("--input-shape", required=True, help="shape of one sample, e.g. 4,3")
    check.add_argument("--init-args", default="[]", help="JSON list or dict for the class")
    check.add_argument("--batch-sizes", default="1,3", help="batch sizes to check, e.g. 1,3")
    check.add_argument("--seed", type=int, default=0)
    check.add_argument("--code-dtype", default="float64", choices=("float64", "float32"),
                       help="float32: check the float32 code against a float64 oracle")  # fmt: skip
    args = parser.parse_args(argv)

    if args.command == "gradcheck":
        return gradcheck_command(args)
    if args.command == "list":
        for name in EXAMPLES:
            print(f"{name:11s} {_describe(name)}")
        return 0
    module = importlib.import_module(f"tinygrad_lite.examples.{EXAMPLES[args.name]}")
    print(f"== {args.name}: {_describe(args.name)}")
    options = {"progress": not args.no_progress}
    if args.device != "cpu":
        if "device" not in inspect.signature(module.run).parameters:
            parser.error(f"demo {args.name} runs on the CPU only; --device works for e6 and e7")
        options["device"] = args.device
    if args.epochs is not None:
        options["epochs"] = args.epochs
    start = time.perf_counter()
    module.run(**options)
    print(f"== done in {time.perf_counter() - start:.1f} s")
    return 0
