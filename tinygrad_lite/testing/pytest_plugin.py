"""pytest plugin (registered by installing tinygrad_lite): a `check_gradients` fixture, so a
test of your own layer is one line:

    def test_my_layer(check_gradients):
        check_gradients(MyLayer(), np.random.randn(3, 4))      # inputs and every parameter

The fixture runs `tl.testing.check_gradients` (error model, parameters, localisation) and fails
the test with its report. `gradcheck` is the fixture's old name, kept as an alias.
"""

from __future__ import annotations

import pytest


def assert_gradients(fn_or_module, *inputs, **options):
    """Fail the test with the full report unless every gradient checks out."""
    from .check import check_gradients

    report = check_gradients(fn_or_module, *inputs, **options)
    if not report.passed:
        pytest.fail(str(report), pytrace=False)
    return report


@pytest.fixture(name="check_gradients")
def check_gradients_fixture():
    """tl.testing.check_gradients(...) that fails the test with the report when a gradient is
    wrong."""
    return assert_gradients


@pytest.fixture
def gradcheck():
    """The old name of the `check_gradients` fixture (it runs tl.testing.check_gradients, not
    tl.gradcheck)."""
    return assert_gradients
