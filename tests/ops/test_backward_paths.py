"""One backward contract: `backward` is the differentiable rule; an op's optional
`backward_untracked` (plain arrays, or a kernel) must give the same gradients. The engine takes
the fast path when no graph is recorded, and `backward` under create_graph."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import ops
from tinygrad_lite.autograd import Function

RNG = np.random.default_rng(0)
EXAMPLES = {
    ops.activation.ReLU: lambda: ((RNG.standard_normal((3, 4)),), {}),
    ops.activation.LeakyReLU: lambda: ((RNG.standard_normal((3, 4)),), {"slope": 0.1}),
    ops.activation.Sigmoid: lambda: ((RNG.standard_normal((3, 4)),), {}),
    ops.activation.Tanh: lambda: ((RNG.standard_normal((3, 4)),), {}),
    ops.activation.GELU: lambda: ((RNG.standard_normal((3, 4)),), {}),
    ops.linalg.Affine: lambda: (
        (RNG.standard_normal((5, 3)), RNG.standard_normal((2, 3)), RNG.standard_normal(2)),
        {},
    ),  # fmt: skip
    ops.loss.SoftmaxCrossEntropy: lambda: (
        (RNG.standard_normal((4, 3)), RNG.dirichlet(np.ones(3), 4)),
        {},
    ),  # fmt: skip
    ops.loss.BinaryCrossEntropy: lambda: (
        (RNG.uniform(0.1, 0.9, (3, 2)), RNG.uniform(0, 1, (3, 2))),
        {},
    ),  # fmt: skip
}


def _all_functions(cls=Function):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_functions(sub)


def test_every_op_with_a_fast_path_is_compared_here():
    with_fast_path = {
        f for f in _all_functions()
        if f.backward_untracked is not None and f.__module__.startswith("tinygrad_lite.ops")
    }  # fmt: skip
    assert with_fast_path <= set(EXAMPLES), sorted(f.__name__ for f in with_fast_path)


@pytest.mark.parametrize("op", list(EXAMPLES), ids=lambda op: op.__name__)
def test_fast_path_and_differentiable_backward_agree(op):
    arrays, params = EXAMPLES[op]()

    def gradients(create_graph):
        xs = [tl.tensor(a, requires_grad=True) for a in arrays]
        y = op.apply(*xs, **params)
        v = tl.tensor(np.random.default_rng(1).standard_normal(y.shape))
        found = tl.grad(y, xs, grad_outputs=v, create_graph=create_graph)
        return [g.numpy() for g in found]

    for fast, plain in zip(gradients(False), gradients(True)):
        np.testing.assert_allclose(fast, plain, rtol=1e-12, atol=1e-14)
