import numpy as np
import pytest

import tinygrad_lite as tl


def test_max_splits_grad_evenly_among_ties():
    x = tl.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0.5, 0.5], [1, 0, 0]])


def test_min_over_all_axes_with_ties():
    x = tl.tensor([[0.0, 1.0], [0.0, 0.0]], requires_grad=True)
    x.min().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1 / 3, 0], [1 / 3, 1 / 3]])


def test_max_of_empty_axis_is_a_clear_error():
    with pytest.raises(ValueError, match=r"max: cannot reduce an empty axis of \(0, 3\)"):
        tl.zeros((0, 3)).max(axis=0)


def test_sum_of_empty_axis_is_zero_and_differentiable():
    x = tl.zeros((0, 3), requires_grad=True)
    y = x.sum(axis=0)
    np.testing.assert_array_equal(y.numpy(), np.zeros(3))
    y.sum().backward()
    assert x.grad.shape == (0, 3)


def test_sum_axis_tuple_and_negative_keepdims():
    x = tl.ones((2, 3, 4))
    assert x.sum(axis=(0, -1)).shape == (3,)
    assert x.sum(axis=(0, -1), keepdims=True).shape == (1, 3, 1)


def test_sum_repeated_axis_is_an_error():
    with pytest.raises(ValueError, match="sum: repeated axis"):
        tl.ones((2, 3)).sum(axis=(1, -1))


def test_sum_axis_out_of_range_names_op():
    with pytest.raises(ValueError, match="mean: axis 2 is out of range for 2 dimensions"):
        tl.ones((2, 3)).mean(axis=2)


def test_var_default_is_numpys_biased_estimator():
    data = np.array([1.0, 2.0, 4.0])
    assert tl.tensor(data).var().item() == pytest.approx(np.var(data))
    assert tl.tensor(data).var(ddof=1).item() == pytest.approx(np.var(data, ddof=1))
    assert tl.tensor(data).std(ddof=1).item() == pytest.approx(np.std(data, ddof=1))


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # log(0) = -inf is the answer
def test_logsumexp_is_stable_for_huge_and_minus_infinite_inputs():
    x = tl.tensor([[1000.0, 1000.0], [-np.inf, -np.inf]], dtype=np.float64)
    y = x.logsumexp(axis=1).numpy()
    assert y[0] == pytest.approx(1000 + np.log(2))
    assert y[1] == -np.inf
