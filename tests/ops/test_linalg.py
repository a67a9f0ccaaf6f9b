import numpy as np
import pytest

import tinygrad_lite as tl


def test_matmul_inner_dims_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: \(3, 4\) @ \(5, 2\): inner dims 4 != 5"):
        tl.ones((3, 4)) @ tl.ones((5, 2))


def test_matmul_rejects_scalars():
    with pytest.raises(ValueError, match="scalar operands are not allowed"):
        tl.matmul(tl.ones(()), tl.ones(3))


def test_matmul_batch_dims_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2,\) and \(3,\) cannot be broadcast"):
        tl.ones((2, 1, 4)) @ tl.ones((3, 4, 5))


def test_matmul_vector_shapes_follow_numpy():
    a, m = np.ones(3), np.ones((3, 4))
    assert (tl.tensor(a) @ tl.tensor(m)).shape == (a @ m).shape == (4,)
    assert (tl.tensor(a) @ tl.tensor(a)).shape == ()
    assert (tl.ones((5, 2, 3)) @ tl.ones((3, 4))).shape == (5, 2, 4)


def test_matmul_broadcast_weight_gradient_sums_over_batch():
    x = tl.tensor(np.ones((5, 2, 3)))
    w = tl.tensor(np.ones((3, 4)), requires_grad=True)
    (x @ w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 4), 10.0))
