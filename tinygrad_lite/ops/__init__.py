"""The op library: each op is a Function subclass (forward, backward, derivation) and a function.

Modules: arithmetic, unary, reduce, shape, linalg, activation, loss.
"""

from .activation import (
    gelu,
    leaky_relu,
    log_softmax,
    normal_cdf,
    normal_pdf,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from .arguments import as_index
from .arithmetic import add, clip, compare, div, maximum, minimum, mul, neg, pow, sub, where
from .conv import fold, unfold
from .linalg import linear, matmul
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    softmax_cross_entropy,
    squared_error,
)
from .reduce import logsumexp, max, mean, min, std, sum, var
from .shape import (
    broadcast_to,
    concatenate,
    expand,
    flatten,
    getitem,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    sum_to,
    transpose,
    unsqueeze,
)
from .unary import abs, cast, cos, exp, log, sin, sqrt, to_device

# isort: split
# NOTE: last: they use the functions above
from . import attention, interop, normalization, precision, recurrent  # noqa: E402, F401
