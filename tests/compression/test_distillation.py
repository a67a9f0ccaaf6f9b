"""Distillation: the soft part's gradient is α·T·(softmax(s/T) - softmax(t/T)) / N (the T² in the
loss cancels the 1/T² of softening), the teacher gets no gradient, and bad arguments are refused."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.nn import functional as F


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("temperature", [1.0, 4.0, 10.0])
def test_the_soft_gradient_is_temperature_times_the_difference_of_softened_probabilities(
    temperature,
):
    rng = np.random.default_rng(0)
    s, t = rng.standard_normal((5, 7)) * 3, rng.standard_normal((5, 7)) * 3
    student = tl.tensor(s, requires_grad=True)
    teacher = tl.tensor(t, requires_grad=True)
    F.distillation_loss(student, teacher, rng.integers(0, 7, 5), temperature, alpha=1.0).backward()
    expected = temperature * (softmax(s / temperature) - softmax(t / temperature)) / 5
    np.testing.assert_allclose(student.grad.numpy(), expected, rtol=1e-10, atol=1e-14)
    assert teacher.grad is None  # the teacher is a constant


def test_alpha_zero_is_plain_cross_entropy():
    rng = np.random.default_rng(1)
    s, t, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), np.array([0, 2, 1, 1])
    np.testing.assert_allclose(
        F.distillation_loss(tl.tensor(s), t, y, 3.0, alpha=0.0).item(),
        F.cross_entropy(tl.tensor(s), y).item(),
    )


@pytest.mark.parametrize("kwargs, message", [({"temperature": 0.0}, "temperature"),
                                             ({"alpha": 1.5}, "alpha")])  # fmt: skip
def test_bad_arguments_are_refused(kwargs, message):
    z = tl.zeros((2, 3))
    with pytest.raises(ValueError, match=message):
        F.distillation_loss(z, z, np.array([0, 1]), **kwargs)


def test_kl_div_of_a_distribution_with_itself_is_zero_and_shapes_must_agree():
    p = softmax(np.random.default_rng(2).standard_normal((3, 4)))
    assert abs(F.kl_div(tl.tensor(np.log(p)), p, reduction="batchmean").item()) < 1e-15
    with pytest.raises(ValueError, match=r"kl_div: input shape \(3, 4\) and target shape \(4,\)"):
        F.kl_div(tl.tensor(np.log(p)), p[0])
    with pytest.raises(ValueError, match="reduction"):
        F.kl_div(tl.tensor(np.log(p)), p, reduction="average")
