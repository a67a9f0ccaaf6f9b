"""The NumPy/CuPy seam, tested without a GPU by standing in a fake `cupy` module."""

import importlib.util
import math
import subprocess
import sys
import types

import numpy as np
import pytest

from tinygrad_lite.backend import check_same_device, erf, get_array_module, scatter_add


class FakeCupyArray(np.ndarray):
    """A NumPy array that `get_array_module` will take for a CuPy one."""


@pytest.fixture
def fake_cupy(monkeypatch):
    module = types.ModuleType("cupy")
    module.ndarray = FakeCupyArray
    monkeypatch.setitem(sys.modules, "cupy", module)
    return module


def test_get_array_module_without_cupy_is_numpy():
    assert get_array_module(np.ones(2), 3.0) is np


def test_get_array_module_finds_cupy_arrays(fake_cupy):
    assert get_array_module(np.ones(2), np.ones(2).view(FakeCupyArray)) is fake_cupy


def test_mixed_devices_are_an_error_naming_both(fake_cupy):
    with pytest.raises(
        RuntimeError, match=r"Mul: inputs are on different devices \(cpu \(2,\), cuda \(2,\)\)"
    ):
        check_same_device("Mul", [np.ones(2), np.ones(2).view(FakeCupyArray)])
    check_same_device("Mul", [np.ones(2), np.ones(3)])  # both on the CPU: fine


def test_scatter_add_accumulates_repeated_indices():
    target = np.zeros(3)
    scatter_add(np, target, np.array([0, 0, 2]), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(target, [3, 0, 3])


def test_importing_and_using_tinygrad_lite_never_imports_cupy():
    code = (
        "import sys, tinygrad_lite as tl\n"
        "x = tl.randn(3, requires_grad=True); (x * x).sum().backward()\n"
        "assert x.device == 'cpu' and 'cupy' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("scipy_available", [True, False])
def test_erf_matches_math_erf_with_and_without_scipy(monkeypatch, scipy_available):
    if not scipy_available:
        monkeypatch.setitem(sys.modules, "scipy.special", None)  # makes the import fail
    elif importlib.util.find_spec("scipy") is None:
        pytest.skip("scipy is not installed")
    x = np.linspace(-6, 6, 101, dtype=np.float32)
    y = erf(np, x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [math.erf(v) for v in x], rtol=1e-6, atol=1e-7)


def test_install_hints_name_what_installs_from_a_checkout():
    """tinygrad_lite is on no package index: a hint names the package itself and the extra of
    a checkout, never `pip install "tinygrad_lite[...]"`."""
    from pathlib import Path

    import tinygrad_lite
    from tinygrad_lite.backend import install_hint

    package = Path(tinygrad_lite.__file__).parent
    offenders = [p.name for p in package.rglob("*.py") if "tinygrad_lite[" in p.read_text()]
    assert offenders == []
    assert install_hint("safetensors", "interop") == (
        'pip install safetensors (from a checkout: pip install -e ".[interop]")'
    )
