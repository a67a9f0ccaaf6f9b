"""The report of a gradient check: per tensor, the errors, the worst elements and a heat map;
the failures that are not gradient elements; kinks; and a snippet that reproduces the check."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from ..gradcheck import Comparison, GradcheckError
from ..nn.module import Module
from ..tensor import Tensor

HEAT = " .:-=+*#%@"  # error magnitude, low to high (log scale)


@dataclass
class TensorCheck:
    """The check of one tensor's gradient (an input or a parameter)."""

    name: str
    comparison: Comparison

    @property
    def passed(self) -> bool:
        return self.comparison.passed

    @property
    def failing(self) -> np.ndarray:
        """Boolean mask, of the gradient's shape, of the elements that fail."""
        return self.comparison.failing

    @property
    def kinks(self) -> np.ndarray:
        """Boolean mask of the elements at a kink (reported, not judged; all False with fixed
        tolerances)."""
        kinks = getattr(self.comparison, "kinks", None)
        return np.zeros(self.failing.shape, bool) if kinks is None else kinks

    def heat_map(self, width: int = 40) -> str:
        """A character picture of |analytic − numeric| for a 2-D gradient ('@' = worst; NaN and
        infinite errors show as '!')."""
        errors = self.comparison.errors
        if errors.ndim != 2 or not errors.size:
            return ""
        errors = errors[:20, :width]
        finite = np.isfinite(errors)
        scale = np.log10(np.maximum(np.where(finite, errors, 0.0), 1e-16))
        low, high = scale.min(), max(scale.max(), scale.min() + 1e-9)
        levels = np.round((scale - low) / (high - low) * (len(HEAT) - 1)).astype(int)
        rows = ["".join(HEAT[k] if ok else "!" for k, ok in zip(row, oks))
                for row, oks in zip(levels, finite)]  # fmt: skip
        return "\n".join(f"      |{row}|" for row in rows)

    def __str__(self) -> str:
        c = self.comparison
        status = "ok  " if self.passed else "FAIL"
        line = (
            f"  {status} {self.name} {c.analytic.shape}: max abs error {c.max_abs_error:.2e}, "
            f"max rel error {c.max_rel_error:.2e}"
        )
        if self.passed:
            return line
        describe = getattr(c, "describe_element", None) or (
            lambda i: f"analytic {c.analytic[i]:.6g}, numeric {c.numeric[i]:.6g}"
        )
        worst = [f"      element {i}: {describe(i)}" for i in c.worst_elements(3)]
        return "\n".join([line, *worst, self.heat_map()]).rstrip()


@dataclass
class GradientReport:
    """All checks of one call; str() gives a terminal-readable report."""

    checks: list[TensorCheck] = field(default_factory=list)
    culprit: str | None = None  # the first op whose own backward is wrong
    notes: list[str] = field(default_factory=list)  # failures that are not gradient elements
    settings: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. kinks: reported, not failures
    reproduction: str = ""  # on failure: a snippet that re-runs the check

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks) and not self.notes

    def __getitem__(self, name: str) -> TensorCheck:
        return next(c for c in self.checks if c.name == name)

    def __str__(self) -> str:
        head = "gradient check " + ("passed" if self.passed else "FAILED")
        head += " (" + ", ".join(f"{k}={v}" for k, v in self.settings.items()) + ")"
        lines = [head, *map(str, self.checks), *(f"  FAIL {note}" for note in self.notes)]
        lines += [f"  warning: {warning}" for warning in self.warnings]
        if self.culprit:
            lines.append(f"  first wrong op: {self.culprit}")
        if self.reproduction:
            lines += [
                "  reproduce with:",
                *("    " + line for line in self.reproduction.split("\n")),
            ]
        return "\n".join(lines)

    def raise_if_failed(self) -> GradientReport:
        if not self.passed:
            raise GradcheckError(str(self))
        return self


def kink_warnings(checks) -> list[str]:
    warnings = []
    for check in checks:
        kinks = getattr(check.comparison, "kinks", None)
        if kinks is not None and kinks.any():
            where = [tuple(int(k) for k in i) for i in np.argwhere(kinks)[:3]]
            warnings.append(f"{check.name}: {int(kinks.sum())} element(s) lie within the step of a "
                            f"kink (one-sided slopes differ), not judged: {where}")  # fmt: skip
    return warnings


def reproduction(fn_or_module, inputs, seed: int, code_dtype) -> str:
    """A snippet that re-runs this check: the target imported by name, the inputs inline."""
    target = type(fn_or_module) if isinstance(fn_or_module, Module) else fn_or_module
    module, name = getattr(target, "__module__", "?"), getattr(target, "__qualname__", "?")
    if inspect.ismethod(target) and isinstance(target.__self__, type):  # MyOp.apply
        owner = target.__self__
        module, name = owner.__module__, f"{owner.__qualname__}.{target.__name__}"
    build = f"{name}()" if isinstance(fn_or_module, Module) else name
    arrays = []
    for x in inputs:
        array = np.asarray(x.numpy() if isinstance(x, Tensor) else x)
        if array.size <= 64:
            arrays.append(f"np.array({array.tolist()!r}, dtype=np.{array.dtype})")
        else:
            arrays.append(f"np.random.default_rng({seed}).standard_normal({array.shape})"
                          f"  # {array.dtype}, {array.size} values: paste yours")  # fmt: skip
    lines = [
        "import numpy as np",
        "import tinygrad_lite as tl",
        f"from {module} import {name.split('.')[0]}",
        "",
        f"target = {build}"
        + ("  # with the same constructor arguments" if build.endswith("()") else ""),  # fmt: skip
        f"inputs = [{', '.join(arrays)}]",
        f"report = tl.testing.check_gradients(target, *inputs, seed={seed}, "
        f"code_dtype={'tl' if np.dtype(code_dtype).name == 'bfloat16' else 'np'}."
        f"{np.dtype(code_dtype)})",
        "print(report)",
    ]
    return "\n".join(lines)
