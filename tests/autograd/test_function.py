"""The contract of a user-defined tl.Function, and the clear errors when a backward breaks it."""

import numpy as np
import pytest

import tinygrad_lite as tl


class Scale(tl.Function):
    """y = a * x for a constant a. Backward: gx = a * gy."""

    def forward(self, x, factor):
        self.factor = factor
        return x * factor

    def backward(self, gy):
        return gy * self.factor


def test_custom_function_with_parameters_and_second_derivatives():
    x = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert tl.gradcheck(lambda t: Scale.apply(t, factor=3.0) * t, x)
    assert tl.gradgradcheck(lambda t: Scale.apply(t, factor=3.0) * t, x)


def test_needs_input_grad_tells_backward_what_to_skip():
    seen = []

    class Probe(tl.Function):
        def forward(self, a, b):
            return a * b

        def backward(self, gy):
            seen.append(self.needs_input_grad)
            a, b = self.inputs
            return gy * b, None

    Probe.apply(tl.ones(2, requires_grad=True), tl.ones(2)).sum().backward()
    assert seen == [(True, False)]


def _backward_returning(value):
    class Broken(tl.Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return value(gy)

    return Broken


def test_backward_returning_wrong_number_of_gradients():
    op = _backward_returning(lambda gy: (gy, gy))
    with pytest.raises(RuntimeError, match="Broken.backward returned 2 gradients for 1 inputs"):
        op.apply(tl.ones(2, requires_grad=True)).sum().backward()


def test_backward_returning_an_array_instead_of_a_tensor():
    op = _backward_returning(lambda gy: gy.numpy())
    with pytest.raises(TypeError, match="returned a ndarray for input 0, not a Tensor"):
        op.apply(tl.ones(2, requires_grad=True)).sum().backward()


def test_backward_returning_the_wrong_dtype():
    op = _backward_returning(lambda gy: gy.astype(np.float64))
    with pytest.raises(
        RuntimeError, match=r"shape \(2,\) \(float64\) for input 0 of shape \(2,\) \(float32\)"
    ):
        op.apply(tl.ones(2, requires_grad=True)).sum().backward()
