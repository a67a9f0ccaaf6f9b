"""The command line answers a mistake with one clear line on stderr and a non-zero exit, never a
traceback (each case runs in a subprocess, as a user would)."""

import subprocess
import sys

import pytest

import tinygrad_lite as tl

CASES = [
    (["demo", "e1", "--epochs", "0"], "positive integer"),
    (["demo", "e7", "--epochs", "-1"], "positive integer"),
    (["gradcheck", "pkg:Nope", "--input-shape", "3"], "cannot import module 'pkg'"),
    (["gradcheck", "nomod:X", "--input-shape", "3"], "cannot import module 'nomod'"),
    (["gradcheck", "tinygrad_lite.nn:Nope", "--input-shape", "3"], "has no 'Nope'"),
    (["gradcheck", "tinygrad_lite.nn:Linear", "--input-shape", "a,b"], "expected sizes like 4,3"),
    (["gradcheck", "tinygrad_lite.nn:Embedding", "--input-shape", "3", "--init-args", "[5, 2]"],
     "integer inputs cannot be gradient-checked"),
    (["gradcheck", "tinygrad_lite.nn:Linear", "--input-shape", "3", "--init-args", "{bad"],
     "not JSON"),
]  # fmt: skip


def _cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "tinygrad_lite", *args], capture_output=True,
                          text=True, timeout=120, **kwargs)  # fmt: skip


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_mistakes_give_one_clear_line_and_a_nonzero_exit(args, message):
    result = _cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_demo_on_cuda_without_cupy_says_what_to_install():
    import importlib.util

    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed here")
    result = _cli("demo", "e7", "--device", "cuda", "--epochs", "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert 'pip install -e ".[cuda13]"' in result.stderr
    assert result.stderr.count("\n") == 1


def test_list_into_a_closed_pipe_is_quiet():
    result = subprocess.run(f"{sys.executable} -m tinygrad_lite list | head -1", shell=True,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.stdout.startswith("chain-rule") and "Error" not in result.stderr


def test_list_shows_whole_sentences():
    lines = _cli("list").stdout.splitlines()
    e7 = next(line for line in lines if line.startswith("e7"))
    assert e7.rstrip().endswith("15 epochs (the article's 5 are too few for the 1,437 bundled "
                                "training digits).")  # fmt: skip


@pytest.mark.parametrize("target", ["SwishOp", "SwishOp.apply"])
def test_gradcheck_takes_a_function_subclass_or_its_apply(target):
    result = _cli("gradcheck", f"tests.cli.test_cli_errors:{target}", "--input-shape", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gradient check passed" in result.stdout


def test_gradcheck_cli_second_order_and_batch_mixing_layers():
    result = _cli("gradcheck", "tests.testing.test_checker_holes:TanhLayer", "--input-shape", "3",
                  "--second-order")  # fmt: skip
    assert result.returncode == 1 and "second derivatives" in result.stdout
    result = _cli("gradcheck", "tinygrad_lite.nn:BatchNorm1d", "--input-shape", "3",
                  "--init-args", "[3]", "--batch-sizes", "4", "--mixes-batch")  # fmt: skip
    assert result.returncode == 0, result.stdout
    # without --batch-sizes, a batch-mixing layer is checked on batches of 2 and 3 (not 1)
    result = _cli("gradcheck", "tinygrad_lite.nn:BatchNorm1d", "--input-shape", "3",
                  "--init-args", "[3]", "--mixes-batch")  # fmt: skip
    assert result.returncode == 0, result.stdout
    assert "batch 2: input 0" in result.stdout and "batch 1:" not in result.stdout


class SwishOp(tl.Function):
    """y = x·σ(x). Backward: gx = gy·(s + x·s(1 − s))."""

    def forward(self, x):
        return x / (1 + self.xp.exp(-x))

    def backward(self, gy):
        (x,) = self.inputs
        s = x.sigmoid()
        return gy * (s + x * s * (1 - s))
