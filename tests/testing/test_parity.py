"""tl.testing.check_parity's comparison and report, run without a GPU by letting the 'cuda' run
happen on the CPU too, with a planted device difference."""

import unittest

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.testing import parity


def test_without_a_gpu_it_skips():
    if tl.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(unittest.SkipTest, match="needs CuPy"):
        tl.testing.check_parity(tl.exp, [np.ones(3)])


@pytest.fixture
def second_cpu(monkeypatch):
    """check_parity's 'cuda' run happens on the CPU; `runs` counts the runs (0: cpu, 1: 'cuda')."""
    monkeypatch.setattr(parity, "is_available", lambda: True)
    monkeypatch.setattr(parity, "to_device", lambda array, device: array)
    return {"runs": 0}


def test_equal_devices_pass_and_report_each_tensor(second_cpu):
    report = tl.testing.check_parity(
        lambda a, b: (a * b).sum(axis=0), [np.ones((3, 2)), np.ones(2)]
    )
    assert report.passed and bool(report)
    text = str(report)
    assert "output 0" in text and "gradient of input 1" in text


def test_a_wrong_element_on_one_device_is_named(second_cpu):
    def planted(x):
        second_cpu["runs"] += 1
        y = tl.exp(x)
        if second_cpu["runs"] == 2:  # the 'GPU' run: one element off, like a racy kernel
            bump = np.zeros(x.shape)
            bump[1, 2] = 1e-6
            y = y + tl.Tensor(bump)
        return y

    report = tl.testing.check_parity(planted, [np.zeros((3, 4))])
    assert not report.passed
    assert "FAIL output 0 (3, 4)" in str(report) and "worst at (1, 2)" in str(report)
    with pytest.raises(AssertionError, match="FAILED"):
        report.raise_if_failed()


def test_an_unwritten_element_nan_fails_in_float32(second_cpu):
    def unwritten(x):
        second_cpu["runs"] += 1
        y = x * 2
        if second_cpu["runs"] == 2:
            y.data[0] = np.nan
        return y

    report = tl.testing.check_parity(unwritten, [np.ones(4, dtype=np.float32)])
    assert report.failures == ["output 0"]
