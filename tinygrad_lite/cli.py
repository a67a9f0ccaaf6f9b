"""The `tinygrad-lite` command (also `python -m tinygrad_lite`).

tinygrad-lite demo [NAME] [--epochs N]   train an example on the embedded data (default: E7)
tinygrad-lite list                       the examples
tinygrad-lite explore NAME               the backprop explorer of xor, e5, mlp, lstm or attention
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


class CommandError(Exception):
    """A mistake in what was asked for: printed as one line on stderr, exit status 2."""


def _describe(name: str) -> str:
    """The example's first docstring paragraph, as one line (never cut mid-sentence)."""
    module = importlib.import_module(f"tinygrad_lite.examples.{EXAMPLES[name]}")
    paragraph = (module.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(paragraph.split()).removesuffix(":")


def _settings(run, options: dict) -> str:
    """The settings the demo runs with: what was asked, else run's defaults (epochs, batch,
    mixed precision, device), so what is printed is what is trained."""
    shown = []
    for name, parameter in inspect.signature(run).parameters.items():
        if name in ("epochs", "batch_size", "amp", "device", "learning_rate", "seed"):
            value = options.get(name, parameter.default)
            shown.append(f"{name}={'off' if name == 'amp' and value is None else value}")
    return ", ".join(shown)


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
    """'package.module:Name' (or 'package.module:Name.attribute') -> the object; the current
    directory is importable, for user code."""
    module_name, _, name = target.partition(":")
    if not module_name or not name:
        raise CommandError(f"gradcheck: expected MODULE:NAME, got {target!r}")
    sys.path.insert(0, ".")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as error:
        raise CommandError(f"gradcheck: cannot import module {module_name!r}: {error}") from None
    for part in name.split("."):
        if not hasattr(obj, part):
            raise CommandError(
                f"gradcheck: {module_name!r} has no {name!r} (no attribute {part!r})"
            )
        obj = getattr(obj, part)
    return obj


def _shape(text: str) -> tuple[int, ...]:
    """'4,3' -> (4, 3), for argparse: a bad shape is a usage error, not a traceback."""
    try:
        shape = tuple(int(n) for n in text.split(",") if n.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 4,3, got {text!r}") from None
    if not shape or any(n <= 0 for n in shape):
        raise argparse.ArgumentTypeError(f"expected positive sizes like 4,3, got {text!r}")
    return shape


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def gradcheck_command(args) -> int:
    from . import manual_seed, testing
    from .autograd import Function
    from .gradcheck import random_stream
    from .nn import Module

    manual_seed(args.seed)
    target = _load(args.target)
    try:
        init = json.loads(args.init_args)
    except json.JSONDecodeError as error:
        raise CommandError(f"gradcheck: --init-args is not JSON: {error}") from None
    if isinstance(target, type) and issubclass(target, Function):
        target = target.apply  # a Function subclass: check its op
    elif isinstance(target, type):
        target = target(**init) if isinstance(init, dict) else target(*init)
    if not callable(target):
        raise CommandError(f"gradcheck: {args.target} is not a Module, Function or function")
    options = dict(seed=args.seed, code_dtype=args.code_dtype, second_order=args.second_order)
    if isinstance(target, Module):
        _refuse_integer_inputs(target, args.target)
        report = testing.check_module(target, args.input_shape, args.batch_sizes,
                                      batch_independence=not args.mixes_batch,
                                      **options)  # fmt: skip
    else:
        shape = ((args.batch_sizes or (1,))[0], *args.input_shape)
        x = random_stream(args.seed, "inputs").standard_normal(shape)
        report = testing.check_gradients(target, x, **options)
    print(report)
    return 0 if report.passed else 1


def _refuse_integer_inputs(module, name: str) -> None:
    from .nn import Embedding

    if isinstance(module, Embedding):
        raise CommandError(
            f"gradcheck: {name} takes integer inputs (indices), and integer inputs cannot be "
            "gradient-checked; check a function that feeds it float data instead"
        )


def demo_command(args, parser) -> int:
    module = importlib.import_module(f"tinygrad_lite.examples.{EXAMPLES[args.name]}")
    print(f"== {args.name}: {_describe(args.name)}")
    options = {"progress": not args.no_progress}
    if args.device != "cpu":
        if "device" not in inspect.signature(module.run).parameters:
            parser.error(f"demo {args.name} runs on the CPU only; --device works for e6 and e7")
        from .backend import parse_device, require_cupy

        if parse_device(args.device) == "cuda":
            require_cupy()  # says what to install, before any training starts
        options["device"] = args.device
    if args.epochs is not None:
        options["epochs"] = args.epochs
    if args.amp is not None:
        if "amp" not in inspect.signature(module.run).parameters:
            parser.error(f"demo {args.name} has no mixed-precision mode; --amp works for e6 and e7")
        options["amp"] = args.amp
    print(f"== settings: {_settings(module.run, options)}")
    start = time.perf_counter()
    module.run(**options)
    print(f"== done in {time.perf_counter() - start:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run a command; a mistake in the request, or an error it leads to, ends with one line on
    stderr and exit status 2 (set TINYGRAD_LITE_TRACEBACK=1 to see the traceback instead)."""
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:  # `tinygrad-lite list | head -2`: the reader left, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("tinygrad-lite: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ImportError, OSError, RuntimeError, TypeError, ValueError) as error:
        if os.environ.get("TINYGRAD_LITE_TRACEBACK"):
            raise
        if isinstance(error, CommandError):
            message = str(error)
        else:
            message = f"{type(error).__name__}: {error}"
        print(f"tinygrad-lite: error: {message}", file=sys.stderr)
        return 2


def _main(argv: list[str]) -> int:
    if argv[:1] == ["bench"]:  # NOTE: the benchmark runner parses its own options
        return bench(argv[1:])
    parser = argparse.ArgumentParser(prog="tinygrad-lite", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train an example program on the embedded data")
    demo.add_argument("name", nargs="?", default="e7", choices=sorted(EXAMPLES))
    demo.add_argument("--epochs", type=_positive_int,
                      help="override the example's number of epochs")  # fmt: skip
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.add_argument("--device", default="cpu", help="cpu or cuda (E6, E7)")
    demo.add_argument(
        "--amp",
        choices=("float16", "bfloat16"),
        help="mixed precision (E6, E7): autocast, plus a GradScaler for float16",
    )
    commands.add_parser("list", help="list the examples")
    explore = commands.add_parser(
        "explore", help="write the interactive backprop explorer (one HTML file) of an example"
    )
    explore.add_argument("example", choices=("xor", "e5", "mlp", "lstm", "attention"))
    explore.add_argument("--output", default=None, help="the HTML file (default: NAME.html)")
    commands.add_parser("bench", help="benchmarks (options: python -m benchmarks --help)")
    check = commands.add_parser(
        "gradcheck", help="check the gradients of your own layer or function"
    )
    check.add_argument("target", help="package.module:Name of a Module (class or instance), a "
                       "tl.Function subclass (or its .apply), or a function")  # fmt: skip
    check.add_argument("--input-shape", required=True, type=_shape,
                       help="shape of one sample, e.g. 4,3")  # fmt: skip
    check.add_argument("--init-args", default="[]", help="JSON list or dict for the class")
    check.add_argument("--batch-sizes", default=None, type=_shape,
                       help="batch sizes to check, e.g. 1,3 (default 1,3; 2,3 with "
                       "--mixes-batch)")  # fmt: skip
    check.add_argument("--seed", type=int, default=0)
    check.add_argument("--code-dtype", default="float64", choices=("float64", "float32"),
                       help="float32: check the float32 code against a float64 oracle")  # fmt: skip
    check.add_argument("--second-order", action="store_true",
                       help="also check second derivatives (create_graph)")  # fmt: skip
    check.add_argument("--mixes-batch", action="store_true",
                       help="the layer mixes samples by design (BatchNorm in training): skip the "
                       "batch-independence part")  # fmt: skip
    args = parser.parse_args(argv)

    if args.command == "gradcheck":
        return gradcheck_command(args)
    if args.command == "explore":
        from .explorer import example_loss, explore

        path = explore(example_loss(args.example), args.output or f"{args.example}.html",
                       title=f"Backprop, step by step: {args.example}")  # fmt: skip
        print(f"wrote {path}: open it in a browser (it needs no server and no network)")
        return 0
    if args.command == "list":
        for name in EXAMPLES:
            print(f"{name:11s} {_describe(name)}")
        return 0
    return demo_command(args, parser)
