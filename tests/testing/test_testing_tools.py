"""tl.testing.strategies and the pytest plugin's `gradcheck` fixture."""

import os
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
from hypothesis import given

import tinygrad_lite as tl
from tinygrad_lite.testing import strategies


@given(x=strategies.tensors(shape=strategies.shapes(min_dims=1), kinks=(0.0,), low=-1, high=1))
def test_tensors_strategy_keeps_values_away_from_kinks(x):
    assert x.dtype == np.float64 and x.requires_grad and x.ndim >= 1
    assert (np.abs(x.numpy()) >= 1e-3).all()
    tl.testing.check_gradients(lambda t: t.abs() * t, x).raise_if_failed()


@given(shapes=strategies.broadcastable_shapes())
def test_broadcastable_shapes_broadcast(shapes):
    assert np.broadcast_shapes(*shapes) is not None


PLUGIN_TEST = """
import numpy as np
import tinygrad_lite as tl

class Wrong(tl.Function):
    def forward(self, x):
        return x * x
    def backward(self, gy):
        return gy * self.inputs[0]

def test_correct_layer(check_gradients):  # the fixture's name; `gradcheck` is its alias
    tl.manual_seed(0)
    check_gradients(tl.nn.Linear(3, 2), np.ones((2, 3)))

def test_wrong_op(gradcheck):
    gradcheck(Wrong.apply, np.arange(1.0, 4.0))
"""


def test_gradcheck_fixture_passes_and_fails_with_the_report(pytester, monkeypatch):
    checkout = str(Path(__file__).resolve().parents[2])  # importable even without an install
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))
    )
    pytester.makepyfile(test_user=PLUGIN_TEST)
    installed = any(e.name == "tinygrad_lite" for e in entry_points(group="pytest11"))
    args = [] if installed else ["-p", "tinygrad_lite.testing.pytest_plugin"]
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*gradient check FAILED*", "*FAIL input 0 (3,)*"])
