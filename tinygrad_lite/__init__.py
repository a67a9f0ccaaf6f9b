"""tinygrad_lite: a small, readable automatic-differentiation engine on NumPy (and CuPy).

>>> import tinygrad_lite as tl
>>> x = tl.tensor([1.0, 2.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
Tensor([2., 4.])
"""

import numpy as np  # noqa: I001

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
from . import (
    amp,
    cuda,
    data,
    distributed,
    nn,
    onnx,
    optim,
    plot,
    quantization,
    testing,
    train,
    utils,
    viz,
)
from .gradcheck import GradcheckError, gradgradcheck, gradient_errors
from .testing import gradcheck
from .ops.interop import from_dlpack
from .jit import JitError, jit
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
    sum_to,
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


def __getattr__(name: str):
    """`tl.bfloat16` imports ml_dtypes only when first used (an optional extra)."""
    if name == "bfloat16":
        from .backend import bfloat16

        return bfloat16()
    raise AttributeError(f"module 'tinygrad_lite' has no attribute {name!r}")


float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
