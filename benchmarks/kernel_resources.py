"""Registers, spills, stack and shared memory of every kernel instantiation, as ptxas reports them
(`nvcc -cubin --resource-usage`), for sm_80 (A100) and sm_90 (H100). Needs nvcc, not a GPU.

    python -m benchmarks.kernel_resources [--arch sm_80 sm_90]

A spill (registers stored to local memory) costs memory traffic in every thread; the test
tests/kernels/test_kernels.py fails on any.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

ARCHES = ("sm_80", "sm_90")
_ENTRY = re.compile(r"Compiling entry function '(\w+)' for '(\w+)'")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_USED = re.compile(r"Used (\d+) registers(?:.*?(\d+) bytes smem)?")


def nvcc() -> str | None:
    found = shutil.which("nvcc")
    default = Path("/usr/local/cuda/bin/nvcc")
    return found or (str(default) if default.exists() else None)


def _demangle(names: list[str]) -> list[str]:
    if not shutil.which("c++filt"):
        return names
    result = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True)
    return [line.split("(")[0].removeprefix("void ") for line in result.stdout.splitlines()]


def resource_usage(arch: str) -> list[dict]:
    """One row per kernel instantiation: kernel, arch, registers, spill bytes, stack, shared."""
    from tinygrad_lite.cuda import kernels

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for file in sorted(kernels.templates()):
            source = Path(folder) / file
            source.write_text(kernels.instantiation_source(file))
            result = subprocess.run(
                [nvcc(), "-cubin", f"-arch={arch}", "--resource-usage", "--std=c++14",
                 "-o", str(source.with_suffix(".cubin")), str(source)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            rows += _parse(result.stdout + result.stderr, file)
    for row, name in zip(rows, _demangle([row["kernel"] for row in rows])):
        row["kernel"] = name
    return rows


def _parse(text: str, file: str) -> list[dict]:
    rows, row = [], None
    for line in text.splitlines():
        if entry := _ENTRY.search(line):
            row = {"file": file, "kernel": entry.group(1), "arch": entry.group(2)}
            rows.append(row)
        elif row is not None and (frame := _FRAME.search(line)):
            stack, stores, loads = map(int, frame.groups())
            row.update(stack=stack, spill_stores=stores, spill_loads=loads)
        elif row is not None and (used := _USED.search(line)):
            row.update(registers=int(used.group(1)), shared=int(used.group(2) or 0))
    return rows


def table(rows: list[dict]) -> str:
    head = (
        f"{'kernel':44s} {'arch':6s} {'regs':>5s} {'spill st/ld':>12s} {'stack':>6s} {'smem':>6s}"
    )
    lines = [head]
    for r in rows:
        spills = f"{r['spill_stores']:5d}/{r['spill_loads']:<6d}"
        lines.append(f"{r['kernel']:44s} {r['arch']:6s} {r['registers']:5d} {spills} "
                     f"{r['stack']:6d} {r['shared']:6d}")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=list(ARCHES))
    args = parser.parse_args()
    if nvcc() is None:
        print("nvcc is not installed: nothing to report")
        return 0
    print(table([row for arch in args.arch for row in resource_usage(arch)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
