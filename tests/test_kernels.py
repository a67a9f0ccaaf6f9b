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

ROOT = Path(__file__).resolve().parents[1]
NVCC = shutil.which("nvcc") or (
    "/usr/local/cuda/bin/nvcc" if Path("/usr/local/cuda/bin/nvcc").exists() else None
)


def test_every_kernel_file_is_registered_and_found():
    on_disk = {p.name for p in (ROOT / "kernels").glob("*.cu")}
    assert on_disk == set(kernels.TEMPLATES)
    assert {p.name for p in kernels.kernel_files()} == on_disk  # through tinygrad_lite/kernels


def test_every_kernel_states_its_bytes_and_flops():
    for path in kernels.kernel_files():
        head = path.read_text()[:1500].lower()
        assert "roofline" in head and "bytes" in head, f"{path.name}: say what it moves and does"


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
@pytest.mark.parametrize("file", sorted(kernels.TEMPLATES))
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
    assert len(entries) == 2 * len(kernels.TEMPLATES[file])  # float and double of each


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
    assert "tinygrad_lite/cuda/kernels.py" in names
