"""A custom layer with its own backward, correct and buggy, for `tinygrad-lite gradcheck`:

    tinygrad-lite gradcheck tinygrad_lite.examples.custom_layer:Swish --input-shape 5
    tinygrad-lite gradcheck tinygrad_lite.examples.custom_layer:BuggySwish --input-shape 5

Swish(x) = x·σ(βx) with a trainable β. Its derivatives are
∂y/∂x = σ(βx) + βx·σ(βx)(1 − σ(βx)) and ∂y/∂β = x²·σ(βx)(1 − σ(βx)).
"""

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn


class SwishOp(tl.Function):
    """y = x·σ(βx). Backward: gx = gy·(s + βx·s(1 − s)), gβ = Σ gy·x²·s(1 − s), s = σ(βx)."""

    forget_x_squared = False  # BuggySwish sets it: a classic slip in the β derivative

    def forward(self, x, beta):
        return x / (1 + np.exp(-beta * x))

    def backward(self, gy):
        x, beta = self.inputs
        s = (beta * x).sigmoid()
        slope = s * (1 - s)
        gx = gy * (s + beta * x * slope)
        x_factor = x if self.forget_x_squared else x * x
        gbeta = (gy * x_factor * slope).sum().reshape(beta.shape)
        return gx, gbeta


class BuggySwishOp(SwishOp):
    forget_x_squared = True


class Swish(nn.Module):
    op = SwishOp

    def __init__(self, beta: float = 1.0):
        self.beta = nn.Parameter(np.array([beta], dtype=np.float32))

    def forward(self, x):
        return self.op.apply(x, self.beta)

    def extra_repr(self) -> str:
        return f"beta={self.beta.item():.3g}"


class BuggySwish(Swish):
    op = BuggySwishOp
