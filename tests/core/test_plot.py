import numpy as np
import pytest

import tinygrad_lite as tl

pytest.importorskip("matplotlib")
PNG = b"\x89PNG\r\n\x1a\n"


def test_decision_boundary_png(tmp_path):
    x, y = tl.data.two_blobs(60)
    path = tl.plot.decision_boundary(lambda p: 1 / (1 + np.exp(-(p[:, 0] + p[:, 1]))), x, y,
                                     tmp_path / "boundary.png", title="x0 + x1 > 0")  # fmt: skip
    assert path.read_bytes()[:8] == PNG


def test_gradient_errors_and_histogram(tmp_path):
    x = tl.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    (errors,) = tl.gradient_errors(lambda t: t.tanh() * t, x)
    assert errors.shape == (3, 4) and errors.max() < 1e-8  # finite-difference noise only
    path = tl.plot.gradcheck_histogram(lambda t: t.tanh() * t, x, tmp_path / "errors.png")
    assert path.read_bytes()[:8] == PNG
