"""tinygrad_lite: a small, readable automatic-differentiation engine on NumPy (and CuPy).

>>> import tinygrad_lite as tl
>>> x = tl.tensor([1.0, 2.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
Tensor([2., 4.])
"""

from . import allocator  # noqa: I001  (first: malloc is tuned before any array exists)
from .tensor import Tensor  # (next: the modules below import it)
from .autograd import Function, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    eye,
    full,
    manual_seed,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    uniform,
    zeros,
    zeros_like,
)
from . import cuda, data, distributed, nn, optim, plot, testing, train, viz
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, gradient_errors
from .serialization import load, save
from .tracing import trace
from .ops import (
    abs,
    add,
    broadcast_to,
    clip,
    concatenate,
    cos,
    div,
    exp,
    expand,
    flatten,
    gelu,
    leaky_relu,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    pad,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)

cat = concatenate  # torch's name

__version__ = "0.1.0"
