# %% [markdown]
# # BatchNorm's backward, step by step
#
# Per channel over a batch of $m$ values: $\mu = \frac1m\sum x_i$,
# $\sigma^2 = \frac1m\sum(x_i-\mu)^2$, $\hat x_i = (x_i - \mu)/s$ with $s = \sqrt{\sigma^2+\varepsilon}$,
# $y_i = \gamma\hat x_i + \beta$. Every $\hat x_i$ depends on every $x_k$ (through $\mu$ and
# $\sigma^2$), and the three paths add up to (docs/derivations/layers.md works them out):
# $$\frac{\partial L}{\partial x_k} = \frac{1}{s}\Big(h_k - \overline{h} - \hat x_k\,\overline{h\hat x}\Big),\qquad h = \gamma\,\frac{\partial L}{\partial y}.$$

# %%
import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn
from _exercises import check

rng = np.random.default_rng(0)
x = rng.standard_normal((6, 3))
g = rng.standard_normal((6, 3))  # an upstream gradient dL/dy
layer = nn.BatchNorm1d(3).to(dtype=np.float64)
layer.weight.data[...] = [1.5, -0.5, 2.0]
tx = tl.tensor(x, requires_grad=True)
(layer(tx) * g).sum().backward()

eps = layer.eps
mu, var = x.mean(0), x.var(0)
s = np.sqrt(var + eps)
x_hat = (x - mu) / s
h = layer.weight.numpy() * g
by_hand = (h - h.mean(0) - x_hat * (h * x_hat).mean(0)) / s
np.testing.assert_allclose(by_hand, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
print(np.abs(by_hand - tx.grad.numpy()).max())

# %% [markdown]
# The classic bug treats $\mu$ and $\sigma^2$ as constants, which gives just $h/s$. The
# gradient checker finds it at once:

# %%
class ConstantStatistics(tl.Function):
    """BatchNorm whose backward forgets that μ and σ² depend on x (a planted bug)."""

    def forward(self, x):
        self.scale = 1 / np.sqrt(x.var(axis=0) + 1e-5)
        return (x - x.mean(axis=0)) * self.scale

    def backward(self, gy):
        return gy * tl.tensor(self.scale)


report = tl.testing.check_gradients(ConstantStatistics.apply, x)
print(report)

# %% [markdown]
# ## Exercises
# 1. Sum the input gradient over the batch for each channel: what do you get, and why?
#    (Answer with the 3 numbers.)
# 2. In eval mode $\mu$ and $\sigma^2$ are running averages, constants. What is
#    $\partial L/\partial x$ then, for $\gamma = 2$, running variance 3, $\varepsilon = 1$ and an
#    upstream gradient of 1?

# %%
answer_1 = None
answer_2 = None

# %%
check("exercise 1", answer_1, tx.grad.numpy().sum(0), tolerance=1e-9)
check("exercise 2", answer_2, 2 / np.sqrt(3 + 1))
