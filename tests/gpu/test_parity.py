"""Every op's forward and backward on the GPU equal the NumPy path (tl.testing.check_parity):
float64 to 1e-10 relative, float32 to 1e-5, on hypothesis-drawn shapes including size 0 and 1."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl

from ..ops.specs import SPECS
from .gpu_only import cupy  # noqa: F401


def _on_device_of(params: dict, inputs) -> dict:
    """Array parameters (indices, conditions) go where the inputs are."""
    device = inputs[0].device if inputs else "cpu"
    return {k: tl.backend.to_device(v, device) if isinstance(v, np.ndarray) else v
            for k, v in params.items()}  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=10, derandomize=True, database=None)
@given(data=st.data())
def test_gpu_matches_cpu(spec, dtype, data):
    arrays, params = spec.draw(data, dtype=dtype)
    report = tl.testing.check_parity(lambda *xs: spec.fn(*xs, **_on_device_of(params, xs)), arrays)
    assert report.passed, f"{spec.name} ({np.dtype(dtype)}):\n{report}"


@pytest.mark.parametrize("spec", SPECS[:: max(1, len(SPECS) // 12)], ids=lambda s: s.name)
@settings(max_examples=3, derandomize=True, database=None)
@given(data=st.data())
def test_gradcheck_on_the_gpu(spec, data):
    arrays, params = spec.draw(data)
    inputs = [tl.Tensor(a, requires_grad=True, device="cuda") for a in arrays]
    assert tl.gradcheck(lambda *xs: spec.fn(*xs, **_on_device_of(params, xs)), inputs,
                        **spec.tolerances)  # fmt: skip
