"""The `tinygrad-lite` command (also `python -m tinygrad_lite`).

tinygrad-lite demo [NAME] [--epochs N]   train an example on the embedded data (default: E7)
tinygrad-lite list                       the examples
"""

from __future__ import annotations

import argparse
import importlib
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
    sys.path.insert(0, str(checkout))
    from benchmarks.__main__ import main as run_benchmarks

    return run_benchmarks(argv)


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
    commands.add_parser("list", help="list the examples")
    commands.add_parser("bench", help="benchmarks (options: python -m benchmarks --help)")
    args = parser.parse_args(argv)

    if args.command == "list":
        for name in EXAMPLES:
            print(f"{name:11s} {_describe(name)}")
        return 0
    module = importlib.import_module(f"tinygrad_lite.examples.{EXAMPLES[args.name]}")
    print(f"== {args.name}: {_describe(args.name)}")
    options = {"progress": not args.no_progress}
    if args.epochs is not None:
        options["epochs"] = args.epochs
    start = time.perf_counter()
    module.run(**options)
    print(f"== done in {time.perf_counter() - start:.1f} s")
    return 0
