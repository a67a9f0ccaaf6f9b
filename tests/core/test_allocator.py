"""tinygrad_lite tunes malloc on import (tinygrad_lite/allocator.py); TINYGRAD_LITE_MALLOC=default
keeps the C library's settings. Each case runs in a fresh interpreter, since the setting is
applied once per process."""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A CNN training step's page faults: glibc's defaults hand large temporaries back to the OS on
# every free, so each step faults them in again
FAULTS_PER_STEP = """
import resource, sys
sys.path.insert(0, {root!r})
import tinygrad_lite as tl
from benchmarks import cnn
step = cnn.tinygrad_step(32)
for _ in range(2):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 4, tl.allocator.SETTING)
"""


def run_python(code: str, setting: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TINYGRAD_LITE_MALLOC", None)
    if setting is not None:
        env["TINYGRAD_LITE_MALLOC"] = setting
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_the_environment_variable_chooses_the_setting():
    show = "import tinygrad_lite as tl; print(tl.allocator.SETTING)"
    assert run_python(show, "default").stdout.strip() == "default (TINYGRAD_LITE_MALLOC=default)"
    tuned = run_python(show, None).stdout.strip()
    if platform.system() == "Linux":
        assert tuned == "mallopt(mmap 64 MiB, trim 256 MiB)"
    else:
        assert tuned.startswith("default")


def test_an_unknown_setting_is_a_clear_error():
    result = run_python("import tinygrad_lite", "fast")
    assert result.returncode != 0
    assert "TINYGRAD_LITE_MALLOC must be 'tuned' or 'default', got 'fast'" in result.stderr


@pytest.mark.skipif(platform.system() != "Linux", reason="mallopt is glibc's")
def test_tuned_malloc_stops_the_page_faults_of_a_training_step():
    code = FAULTS_PER_STEP.format(root=str(ROOT))
    default = float(run_python(code, "default").stdout.split()[0])
    tuned = float(run_python(code, "tuned").stdout.split()[0])
    if default < 100:
        pytest.skip(f"this C library does not fault here ({default:.0f} faults per step)")
    assert tuned < default / 10, (tuned, default)
