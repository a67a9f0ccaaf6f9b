# %% [markdown]
# # The chain rule on scalars
#
# Backprop is the chain rule applied from the output back to every input, reusing what each
# step already computed. Here it is on a few numbers, by hand first, then by the engine, which
# must agree to the last digit.
#
# The function: $L = (a b + c)^2$ with $a = 2$, $b = -3$, $c = 10$.

# %%
import numpy as np

import tinygrad_lite as tl
from _exercises import check

a, b, c = 2.0, -3.0, 10.0
e = a * b  # -6
d = e + c  # 4
L = d**2  # 16

# %% [markdown]
# By hand, from the output back. $\partial L/\partial d = 2d$. Then $d = e + c$ passes it
# unchanged to both $e$ and $c$ (a sum's local derivative is 1), and $e = ab$ sends
# $\partial L/\partial e \cdot b$ to $a$ and $\partial L/\partial e \cdot a$ to $b$ (each factor
# gets the other one).

# %%
dL_dd = 2 * d
dL_de = dL_dd * 1
dL_dc = dL_dd * 1
dL_da = dL_de * b
dL_db = dL_de * a
print(dL_da, dL_db, dL_dc)

# %% [markdown]
# The engine records each operation as it runs, and `backward()` replays them in reverse.

# %%
ta, tb, tc = (tl.tensor(v, dtype=np.float64, requires_grad=True) for v in (a, b, c))
loss = (ta * tb + tc) ** 2
loss.backward()
print(ta.grad.item(), tb.grad.item(), tc.grad.item())
assert (ta.grad.item(), tb.grad.item(), tc.grad.item()) == (dL_da, dL_db, dL_dc)

# %% [markdown]
# A variable used twice gets the sum of both paths: for $y = x \cdot x$, $dy/dx = x + x$.

# %%
x = tl.tensor(3.0, dtype=np.float64, requires_grad=True)
(x * x).backward()
print(x.grad.item())

# %% [markdown]
# ## Exercises
# 1. For $f = \tanh(w x)$ with $w = 0.5$, $x = 2$, what is $\partial f/\partial w$? (Hint:
#    $\tanh' = 1 - \tanh^2$, times the inner derivative.)
# 2. For $g = a b + a$, with $a = 2$, $b = -3$: what is $\partial g/\partial a$?

# %%
answer_1 = None  # your number
answer_2 = None

# %%
w = tl.tensor(0.5, dtype=np.float64, requires_grad=True)
f = (w * 2.0).tanh()
f.backward()
check("exercise 1", answer_1, w.grad.item())
ta = tl.tensor(2.0, dtype=np.float64, requires_grad=True)
(ta * -3.0 + ta).backward()
check("exercise 2", answer_2, ta.grad.item())
