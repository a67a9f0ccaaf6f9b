"""pytest plugin (registered by installing tinygrad_lite): a `gradcheck` fixture, so a test of
your own layer is one line:

    def test_my_layer(gradcheck):
        gradcheck(MyLayer(), np.random.randn(3, 4))      # inputs and every parameter
"""

from __future__ import annotations

import pytest


def assert_gradients(fn_or_module, *inputs, **options):
    """Fail the test with the full report unless every gradient checks out."""
    from .testing import check_gradients

    report = check_gradients(fn_or_module, *inputs, **options)
    if not report.passed:
        pytest.fail(str(report), pytrace=False)
    return report


@pytest.fixture
def gradcheck():
    """check_gradients(...) that fails the test with the report when a gradient is wrong."""
    return assert_gradients
