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
        {"reduction": "none"},
    ),  # fmt: skip
    ops.loss.SquaredError: lambda: (
        (RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))),
        {"reduction": "mean"},
    ),  # fmt: skip
    ops.loss.BinaryCrossEntropyWithLogits: lambda: (
        (RNG.standard_normal((3, 2)) * 4, RNG.uniform(0, 1, (3, 2))),
        {"reduction": "sum"},
    ),  # fmt: skip
    ops.attention.BlockedAttention: lambda: (
        tuple(RNG.standard_normal((2, 5, 3)) for _ in range(3)),
        {"scale": 0.5, "causal": True, "block": 2},
    ),  # fmt: skip
    ops.normalization.FusedLayerNorm: lambda: (
        (RNG.standard_normal((3, 2, 4)), RNG.standard_normal((2, 4)), RNG.standard_normal((2, 4))),
        {"width": 8, "eps": 1e-5, "center": True, "affine": "wb"},
    ),  # fmt: skip
    ops.recurrent.LSTMSequence: lambda: (
        (
            RNG.standard_normal((3, 2, 8)),
            RNG.standard_normal((2, 2)),
            RNG.standard_normal((2, 2)),
            RNG.standard_normal((8, 2)),
        ),
        {},
    ),  # fmt: skip
    ops.arithmetic.Add: lambda: ((RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))), {}),
    ops.arithmetic.Sub: lambda: ((RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))), {}),
    ops.arithmetic.Mul: lambda: ((RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))), {}),
    ops.arithmetic.Div: lambda: ((RNG.standard_normal((3, 4)), RNG.uniform(1, 2, (3, 4))), {}),
    ops.arithmetic.Neg: lambda: ((RNG.standard_normal((3, 4)),), {}),
    ops.reduce.Sum: lambda: (
        (RNG.standard_normal((3, 4, 2)),),
        {"axes": (0, 2), "keepdims": False},
    ),
    ops.reduce.Mean: lambda: ((RNG.standard_normal((3, 4, 2)),), {"axes": (1,), "keepdims": True}),
    ops.conv.Conv2d: lambda: (
        (
            RNG.standard_normal((2, 4, 6, 5)),
            RNG.standard_normal((6, 2, 3, 3)),
            RNG.standard_normal(6),
        ),
        {"window": ops.conv.Window.of(3, 2, 1, 1), "groups": 2},
    ),  # fmt: skip
    ops.conv.MaxPool2d: lambda: (
        (RNG.standard_normal((2, 3, 6, 6)),),
        {"window": ops.conv.Window.of(2, 2, 0, 1)},
    ),  # fmt: skip
    ops.shape.Reshape: lambda: ((RNG.standard_normal((3, 4)),), {"shape": (2, 6)}),
    ops.shape.BroadcastTo: lambda: ((RNG.standard_normal((3, 1)),), {"shape": (2, 3, 4)}),
    ops.shape.SumTo: lambda: ((RNG.standard_normal((2, 3, 4)),), {"shape": (3, 1)}),
    ops.unary.Cast: lambda: ((RNG.standard_normal((3, 4)),), {"dtype": np.dtype(np.float32)}),
    ops.unary.Abs: lambda: ((np.array([[-1.5, 0.0, 2.0], [3.0, -0.25, 0.0]]),), {}),
    ops.arithmetic.Maximum: lambda: ((_ties((3, 4)), _ties((3, 4))), {}),
    ops.arithmetic.Minimum: lambda: ((_ties((3, 4)), _ties((3, 4))), {}),
    ops.arithmetic.Where: lambda: (
        (RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4)), RNG.random((3, 4)) > 0.5),
        {},
    ),  # fmt: skip
    ops.arithmetic.Clip: lambda: (
        (_ties((3, 4)),),
        {"low": np.float64(-1.0), "high": np.float64(1.0)},
    ),  # fmt: skip
    ops.reduce.Extremum: lambda: (
        (_ties((3, 4, 2)),),
        {"axes": (1,), "keepdims": False, "largest": True},
    ),  # fmt: skip
    ops.linalg.MatMul: lambda: (
        (RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 4, 5))),
        {},
    ),  # fmt: skip
    ops.arithmetic.PowConstant: lambda: ((RNG.uniform(0.5, 2, (3, 4)),), {"exponent": 3}),
    ops.shape.TakeRows: lambda: ((RNG.standard_normal((5, 3)), np.array([[0, 4], [4, 2]])), {}),
    ops.loss.PickClass: lambda: ((RNG.standard_normal((4, 3)), np.array([2, 0, 2, 1])), {}),
}


def _ties(shape):
    """Values in {-2, -1, 0, 1, 2}: ties, and values on the clip bounds, are common."""
    return RNG.integers(-2, 3, shape).astype(np.float64)


def _all_functions(cls=Function):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_functions(sub)


def test_every_op_with_a_fast_path_is_compared_here():
    with_fast_path = {
        f for f in _all_functions()
        if f.backward_untracked is not None and f.__module__.startswith("tinygrad_lite.ops")
        and not f.__dict__.get("abstract", False)  # a base of ops, never applied itself
    }  # fmt: skip
    assert with_fast_path <= set(EXAMPLES), sorted(f.__name__ for f in with_fast_path)


@pytest.mark.parametrize("only_first", [False, True], ids=["all inputs", "first input only"])
@pytest.mark.parametrize("op", list(EXAMPLES), ids=lambda op: op.__name__)
def test_fast_path_and_differentiable_backward_agree(op, only_first):
    arrays, params = EXAMPLES[op]()

    def gradients(create_graph):
        xs = [tl.tensor(a, requires_grad=a.dtype.kind == "f" and not (only_first and i))
              for i, a in enumerate(arrays)]  # fmt: skip
        y = op.apply(*xs, **params)
        v = tl.tensor(np.random.default_rng(1).standard_normal(y.shape), dtype=y.dtype)
        wanted = [x for x in (xs[:1] if only_first else xs) if x.requires_grad]
        found = tl.grad(y, wanted, grad_outputs=v, create_graph=create_graph)
        return [g.numpy() for g in found]

    for fast, plain in zip(gradients(False), gradients(True)):
        assert fast.dtype == plain.dtype and fast.shape == plain.shape
        exact = fast.dtype == np.float64
        np.testing.assert_allclose(fast, plain, rtol=1e-12 if exact else 1e-6,
                                   atol=1e-14 if exact else 1e-7)  # fmt: skip


def test_max_pool_of_a_channels_last_input_passes_back_the_same_gradient():
    """After a convolution the pooled input's memory is channels last; the array backward then
    builds the gradient in that layout (max_unpool), with the same values."""
    x = RNG.standard_normal((2, 3, 6, 4)).astype(np.float32)
    g = RNG.standard_normal((2, 3, 3, 2)).astype(np.float32)
    window = ops.conv.Window.of(2, 2, 0, 1)
    grads = []
    for data in (x, np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)):
        y = ops.conv.MaxPool2d.apply(tl.Tensor(data, requires_grad=True), window=window)
        grads.append(y.creator.backward_untracked(g))
    assert grads[0].flags.c_contiguous and grads[1].strides[1] < grads[1].strides[3]
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("op", list(EXAMPLES), ids=lambda op: op.__name__)
def test_fast_path_reads_only_what_forward_kept(op):
    """tl.jit replays a node as forward then backward_untracked on its captured Function, whose
    inputs are then holders of arrays (`.data` only) and which has no `params` (they are
    forward's arguments): the fast path must read what forward kept on self, as here."""
    from tinygrad_lite.jit.plan import _Holder

    arrays, params = EXAMPLES[op]()
    xs = [tl.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    y = op.apply(*xs, **params)
    gy = np.random.default_rng(1).standard_normal(y.shape).astype(y.dtype)
    expected = y.creator.backward_untracked(gy)
    replayed = op()
    replayed.xp, replayed.needs_input_grad = np, y.creator.needs_input_grad
    replayed.inputs = [_Holder(a) for a in arrays]
    replayed._output = lambda: _Holder(y.data)
    replayed.forward(*arrays, **params)
    got = replayed.backward_untracked(gy)
    pairs = zip(*(g if isinstance(g, tuple) else (g,) for g in (got, expected)))
    for g, want in pairs:
        assert (g is None) == (want is None)
        if g is not None:
            np.testing.assert_array_equal(g, want)
