"""Every CUDA kernel compiles, without a GPU: nvcc builds each .cu file to PTX with every template
instantiation that CuPy would compile at run time, so a syntax or type error never lands. And the
kernels ship: a built wheel holds them."""

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tinygrad_lite.cuda import kernels

ROOT = Path(__file__).resolve().parents[2]
NVCC = shutil.which("nvcc") or (
    "/usr/local/cuda/bin/nvcc" if Path("/usr/local/cuda/bin/nvcc").exists() else None
)


def test_every_kernel_file_is_registered_and_found():
    on_disk = {p.name for p in (ROOT / "kernels").glob("*.cu")}
    assert on_disk == set(kernels.templates())
    assert {p.name for p in kernels.kernel_files()} == on_disk


def test_every_global_kernel_in_the_sources_is_declared_by_a_launcher():
    declared = {(f, k.name) for f, ks in kernels.templates().items() for k in ks}
    in_source = {(p.name, name) for p in kernels.kernel_files()
                 for name in re.findall(r"__global__\s+void\s+(\w+)", p.read_text())}  # fmt: skip
    assert declared == in_source


def test_the_package_has_no_symlink():
    links = [p for p in (ROOT / "tinygrad_lite").rglob("*") if p.is_symlink()]
    assert not links, links


def test_every_kernel_states_its_bytes_and_flops():
    for path in kernels.kernel_files():
        head = path.read_text()[:1500].lower()
        assert "roofline" in head and "bytes" in head, f"{path.name}: say what it moves and does"


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
@pytest.mark.parametrize("file", sorted(kernels.templates()))
def test_kernel_compiles_with_nvcc(file, tmp_path):
    source = tmp_path / file
    source.write_text(kernels.instantiation_source(file))
    ptx = tmp_path / "out.ptx"
    result = subprocess.run(
        [NVCC, "-ptx", "-arch=sm_80", "--std=c++14", "-Werror", "all-warnings", "-o", str(ptx),
         str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    entries = re.findall(r"\.entry\s+(\S+)", ptx.read_text())
    assert len(entries) == len(kernels.names(file))  # float, double, half_t, bfloat16_t of each


def test_the_wheel_carries_the_kernels(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("tinygrad_lite-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"tinygrad_lite/kernels/{p.name}" for p in (ROOT / "kernels").iterdir()}
    assert expected and expected <= names
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tinygrad_lite").rglob("*.py")}
    assert modules <= names, sorted(modules - names)  # every subpackage is listed in pyproject
    assert {"tinygrad_lite/explorer.html", "tinygrad_lite/py.typed"} <= names  # package data
    pages = {f"tinygrad_lite/derivations/{p.name}" for p in ROOT.glob("docs/derivations/*.md")}
    assert pages and pages <= names  # the explorer shows their sections


def test_the_launcher_checks_arguments_against_the_kernel_signature():
    import numpy as np

    from tinygrad_lite.cuda import activation, optim
    from tinygrad_lite.cuda.launch import NULL, pack_arguments

    relu = activation._KERNEL["relu_forward"]
    x, y = np.ones(4, np.float32), np.empty(4, np.float32)
    packed = pack_arguments(relu, np.dtype(np.float32), (x, y, 4))
    assert packed[2] == 4 and packed[2].dtype == np.int64
    with pytest.raises(
        TypeError, match=r"activation.cu:relu_forward: takes 3 arguments \(x, y, n\)"
    ):
        pack_arguments(relu, np.dtype(np.float32), (x, y))
    with pytest.raises(TypeError, match="argument 'x' must be float32, got float64"):
        pack_arguments(relu, np.dtype(np.float32), (x.astype(np.float64), y, 4))
    with pytest.raises(ValueError, match="argument 'x' must be C-contiguous"):
        pack_arguments(relu, np.dtype(np.float32), (np.ones((4, 4), np.float32).T, y, 16))
    with pytest.raises(TypeError, match="argument 'y' is required"):
        pack_arguments(relu, ("float32",), (x, None, 4))
    p = x.astype(np.float64)
    sgd = pack_arguments(optim.SGD, ("float64", "float64"), (p, p, None, 0.1, 0, 0, 0, 0, 1, 4))
    assert sgd[2] is NULL and sgd[3].dtype == np.float64 and sgd[7].dtype == np.int32


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_no_kernel_spills_registers(arch):
    """The table itself: python -m benchmarks.kernel_resources (not printed mid-run here)."""
    from benchmarks.kernel_resources import resource_usage

    rows = resource_usage(arch)
    assert len(rows) == sum(len(kernels.names(file)) for file in kernels.templates())
    spilling = [r["kernel"] for r in rows if r["spill_stores"] or r["spill_loads"]]
    assert not spilling, f"register spills on {arch}: {spilling}"
