"""check_parity: the same function, forward and backward, on NumPy and on CuPy, compared.

A CUDA kernel that is wrong for some shape, forgets to write part of its output, or loses
precision shows up here as a named output or gradient and the element where the two devices
disagree most.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..autograd import grad
from ..backend import to_device
from ..cuda import is_available
from ..tensor import Tensor

# Relative tolerance by dtype: float64 kernels agree to rounding; float32 ones reorder sums.
TOLERANCES = {np.dtype(np.float64): (1e-10, 1e-12), np.dtype(np.float32): (1e-5, 1e-6)}


@dataclass
class ParityReport:
    """Per output and per input gradient: the largest CPU/GPU difference and where it is."""

    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = "CPU/GPU parity: " + ("passed" if self.passed else "FAILED")
        return "\n".join([head, *self.lines])

    def raise_if_failed(self) -> None:
        if not self.passed:
            raise AssertionError(str(self))


def _compare(report: ParityReport, name: str, cpu: np.ndarray, gpu: np.ndarray, rtol, atol):
    if cpu.shape != gpu.shape:
        report.failures.append(name)
        report.lines.append(f"  FAIL {name}: shape {cpu.shape} on the CPU, {gpu.shape} on the GPU")
        return
    difference = np.abs(cpu - gpu)
    bound = atol + rtol * np.abs(cpu)
    bad = ~(difference <= bound)  # NOTE: NaN (an unwritten, poisoned element) counts as bad
    magnitude = np.where(np.isnan(difference), np.inf, difference)
    worst = (
        tuple(int(k) for k in np.unravel_index(np.argmax(magnitude), cpu.shape)) if cpu.size else ()
    )
    status = "FAIL" if bad.any() else "ok  "
    detail = f"max abs difference {np.nanmax(difference, initial=0):.2e}"
    if bad.any():
        report.failures.append(name)
        detail += f", worst at {worst}: cpu {cpu[worst]:.10g}, gpu {gpu[worst]:.10g}"
    report.lines.append(f"  {status} {name} {cpu.shape}: {detail}")


class GPUNotAvailable(unittest.SkipTest):
    """check_parity found no usable GPU. A script catches it by this name
    (`except tl.testing.GPUNotAvailable:`); pytest and unittest report it as a skip."""


def check_parity(fn: Callable, inputs: Sequence, *, rtol: float | None = None,
                 atol: float | None = None, seed: int = 0) -> ParityReport:  # fmt: skip
    """Run `fn` on CPU tensors and on GPU copies of them, forward and backward, and compare.

    Args:
        fn: takes the input tensors, returns a tensor or a tuple of them.
        inputs: tensors or arrays; float ones are differentiated.
        rtol, atol: default 1e-10/1e-12 in float64 and 1e-5/1e-6 in float32.
        seed: for the random upstream gradient.

    Raises:
        GPUNotAvailable: no usable GPU (CuPy missing, or no device). It subclasses
            unittest.SkipTest, so under pytest or unittest the calling test is skipped.
    """
    if not is_available():
        raise GPUNotAvailable("check_parity needs CuPy and an NVIDIA GPU")
    arrays = [np.asarray(x.numpy() if isinstance(x, Tensor) else x) for x in inputs]
    report = ParityReport()
    results = {}
    for device in ("cpu", "cuda"):
        tensors = [Tensor(to_device(a.copy(), device), requires_grad=a.dtype.kind == "f")
                   for a in arrays]  # fmt: skip
        ys = fn(*tensors)
        ys = tuple(ys) if isinstance(ys, (tuple, list)) else (ys,)
        rng = np.random.default_rng(seed)
        upstream = [Tensor(to_device(rng.standard_normal(y.shape).astype(y.dtype), device))
                    for y in ys]  # fmt: skip
        wanted = [t for t in tensors if t.requires_grad]
        differentiable = [i for i, y in enumerate(ys) if y.requires_grad]
        grads = grad([ys[i] for i in differentiable], wanted,
                     grad_outputs=[upstream[i] for i in differentiable],
                     allow_unused=True) if wanted and differentiable else []  # fmt: skip
        results[device] = ([y.numpy() for y in ys],
                           [None if g is None else g.numpy() for g in grads])  # fmt: skip
    (cpu_ys, cpu_grads), (gpu_ys, gpu_grads) = results["cpu"], results["cuda"]
    for i, (cpu, gpu) in enumerate(zip(cpu_ys, gpu_ys)):
        default_rtol, default_atol = TOLERANCES.get(cpu.dtype, (0.0, 0.0))
        _compare(report, f"output {i}", cpu, gpu, rtol or default_rtol, atol or default_atol)
    for i, (cpu, gpu) in enumerate(zip(cpu_grads, gpu_grads)):
        if cpu is None or gpu is None:
            if (cpu is None) != (gpu is None):
                report.failures.append(f"gradient {i}")
                report.lines.append(f"  FAIL gradient {i}: missing on one device")
            continue
        default_rtol, default_atol = TOLERANCES.get(cpu.dtype, (0.0, 0.0))
        _compare(report, f"gradient of input {i}", cpu, gpu, rtol or default_rtol,
                 atol or default_atol)  # fmt: skip
    return report
