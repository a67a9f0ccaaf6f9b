# %% [markdown]
# # An MLP by hand, next to the engine
#
# A two-layer network $h = \tanh(x W_1^\top + b_1)$, $p = \sigma(h W_2^\top + b_2)$ with the
# mean squared error on XOR. We write its backward with NumPy, one line per layer, and compare
# every gradient with the engine's.

# %%
import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn
from _exercises import check

tl.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid()).to(
    dtype=np.float64
)
x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
y = np.array([[0], [1], [1], [0]], dtype=np.float64)
loss = nn.functional.mse_loss(model(x), y)
loss.backward()
W1, b1, W2, b2 = (p.numpy() for p in model.parameters())

# %% [markdown]
# Forward, keeping what backward needs; then backward from $L = \frac1{4}\sum (p - y)^2$:
# - $\partial L/\partial p = \frac{2}{4}(p - y)$
# - through the sigmoid: $\times\, p(1-p)$
# - the second layer: $\partial L/\partial W_2 = \delta_2^\top h$, $\partial L/\partial b_2 = \sum \delta_2$,
#   $\partial L/\partial h = \delta_2 W_2$
# - through tanh: $\times\,(1 - h^2)$, then the first layer the same way.

# %%
h = np.tanh(x @ W1.T + b1)
p = 1 / (1 + np.exp(-(h @ W2.T + b2)))
delta2 = 2 / 4 * (p - y) * p * (1 - p)
gW2, gb2 = delta2.T @ h, delta2.sum(0)
delta1 = (delta2 @ W2) * (1 - h**2)
gW1, gb1 = delta1.T @ x, delta1.sum(0)
for name, mine, parameter in zip(("W1", "b1", "W2", "b2"), (gW1, gb1, gW2, gb2),
                                 model.parameters()):  # fmt: skip
    print(name, np.abs(mine - parameter.grad.numpy()).max())
    np.testing.assert_allclose(mine, parameter.grad.numpy(), rtol=1e-12, atol=1e-14)

# %% [markdown]
# ## Exercises
# 1. Many articles write the output delta as $(p - y)\,\sigma'(z)\,\sigma'(z)$. What is the
#    largest absolute error that double $\sigma'$ makes in $\partial L/\partial b_2$ here?
# 2. What is $\partial L/\partial b_1$ (a vector of 3)?

# %%
answer_1 = None
answer_2 = None

# %%
wrong = 2 / 4 * (p - y) * (p * (1 - p)) ** 2
check("exercise 1", answer_1, np.abs(wrong.sum(0) - gb2).max())
check("exercise 2", answer_2, model[0].bias.grad.numpy())
