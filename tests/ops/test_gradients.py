"""Every op's backward against central finite differences, in float64, on hypothesis-drawn cases."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl

from ..op_modules import OP_MODULES, functions_of
from .specs import SPECS


def build(spec, data):
    arrays, params = spec.draw(data)
    inputs = [tl.Tensor(a, requires_grad=True) for a in arrays]
    return (lambda *xs: spec.fn(*xs, **params)), inputs


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@given(data=st.data())
def test_gradcheck(spec, data):
    fn, inputs = build(spec, data)
    assert tl.gradcheck(fn, inputs, **spec.tolerances)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.smooth], ids=lambda s: s.name)
@settings(max_examples=max(1, settings.default.max_examples * 2 // 5))  # slower: fewer
@given(data=st.data())
def test_gradgradcheck(spec, data):
    fn, inputs = build(spec, data)
    assert tl.gradgradcheck(fn, inputs, **spec.tolerances)


def _recorded_functions(y) -> set[str]:
    names, stack = set(), list(y if isinstance(y, tuple) else (y,))
    while stack:
        t = stack.pop()
        if t.creator is not None:
            names.add(type(t.creator).__name__)
            stack.extend(t.creator.inputs)
    return names


def test_every_function_is_exercised_by_a_spec():
    """A meta-test: each Function subclass in tinygrad_lite.ops must appear in some spec's graph."""
    # OneHot takes integer labels only, Compare gives booleans: never recorded, nothing to
    # differentiate (tests/ops/test_arithmetic.py checks comparisons' values)
    defined = {name for module in OP_MODULES for name in functions_of(module)} - {
        "OneHot",
        "Compare",
    }
    seen = set()

    @given(data=st.data())
    @settings(max_examples=10, database=None)
    def collect(spec, data):
        fn, inputs = build(spec, data)
        y = fn(*inputs)
        seen.update(_recorded_functions(y))
        ys = y if isinstance(y, tuple) else (y,)
        upstream = [tl.ones_like(t, requires_grad=True) for t in ys]  # so backward ops are recorded
        grads = tl.grad(ys, inputs, grad_outputs=upstream, allow_unused=True, create_graph=True)
        for g in grads:
            if g is not None:
                seen.update(_recorded_functions(g))

    for spec in SPECS:
        collect(spec)
    assert defined - seen == set(), f"Function classes without a spec: {sorted(defined - seen)}"
