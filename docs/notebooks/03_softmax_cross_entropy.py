# %% [markdown]
# # Softmax and cross-entropy: why the gradient is $p - y$
#
# With $p = \mathrm{softmax}(z)$ and $L = -\sum_k y_k \log p_k$ (one-hot or soft $y$ summing
# to 1), the softmax Jacobian $\partial p_i/\partial z_j = p_i(\delta_{ij} - p_j)$ meets the
# log's $-y_i/p_i$ and the $p_i$ cancel:
# $$\frac{\partial L}{\partial z_j} = -\sum_i \frac{y_i}{p_i}\,p_i(\delta_{ij} - p_j) = p_j \sum_i y_i - y_j = p_j - y_j.$$

# %%
import numpy as np

import tinygrad_lite as tl
from _exercises import check

z = np.array([2.0, 1.0, -1.0])
y = np.array([0.0, 1.0, 0.0])
p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()

# the long way: the Jacobian, then the chain rule
jacobian = np.diag(p) - np.outer(p, p)
long_way = jacobian.T @ (-y / p)
print(long_way, p - y)
np.testing.assert_allclose(long_way, p - y, atol=1e-15)

# %% [markdown]
# The engine's fused op computes $p - y$ directly (one pass, no $1/p$ that could overflow):

# %%
logits = tl.tensor(z[None], requires_grad=True)
tl.nn.functional.cross_entropy(logits, np.array([1])).backward()
print(logits.grad.numpy())
np.testing.assert_allclose(logits.grad.numpy()[0], p - y, atol=1e-15)

# %% [markdown]
# Why compute it fused: with a logit of 1000 the separate softmax gives $p = 0$ for the other
# classes and $\log 0 = -\infty$, while the fused op stays finite.

# %%
big = tl.tensor([[1000.0, 0.0]], requires_grad=True)
loss = tl.nn.functional.cross_entropy(big, np.array([1]))
loss.backward()
print(loss.item(), big.grad.numpy())

# %% [markdown]
# ## Exercises
# 1. For logits $z = (0, 0, 0, 0)$ and the label 2, what is $\partial L/\partial z$?
# 2. With a mean over a batch of $N$ samples, each row's gradient is divided by what?

# %%
answer_1 = None  # a list of 4 numbers
answer_2 = None

# %%
zeros = tl.tensor(np.zeros((1, 4)), requires_grad=True)
tl.nn.functional.cross_entropy(zeros, np.array([2])).backward()
check("exercise 1", answer_1, zeros.grad.numpy()[0])
batch = tl.tensor(np.zeros((5, 4)), requires_grad=True)
tl.nn.functional.cross_entropy(batch, np.array([2] * 5)).backward()
check("exercise 2", answer_2, (zeros.grad.numpy() / batch.grad.numpy()[:1])[0, 0])
