# %% [markdown]
# # Gradient-checking your own layer
#
# A hand-written backward is where bugs hide. `tl.testing.check_gradients` compares it with
# finite differences (run in float64, with an error model that tells rounding from a wrong
# formula) and reports where and by how much it is wrong; `check_module` does the same for a
# whole layer and each of its parameters.

# %%
import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn
from _exercises import check


class Swish(tl.Function):
    """y = x · σ(x). Backward: σ(x) + x σ(x)(1 − σ(x))."""

    def forward(self, x):
        self.s = 1 / (1 + np.exp(-x))
        return x * self.s

    def backward(self, gy):
        s = tl.tensor(self.s)
        return gy * (s + s * (1 - s))  # planted bug: one factor x is missing


x = np.random.default_rng(0).standard_normal((3, 4))
report = tl.testing.check_gradients(Swish.apply, x)
print(report)
assert not report.passed

# %% [markdown]
# Fixed, it passes:

# %%
class FixedSwish(Swish):
    def backward(self, gy):
        s, x = tl.tensor(self.s), self.inputs[0]
        return gy * (s + x * s * (1 - s))


print(tl.testing.check_gradients(FixedSwish.apply, x))

# %% [markdown]
# A whole layer with parameters: `check_module` checks every parameter and that samples do not
# mix (a layer that leaks across the batch is caught too).

# %%
class ScaledLinear(nn.Module):
    def __init__(self):
        self.weight = nn.Parameter(np.random.default_rng(1).standard_normal((2, 4)))

    def forward(self, x):
        return FixedSwish.apply(x @ self.weight.T)


print(tl.testing.check_module(ScaledLinear(), (4,)))

# %% [markdown]
# ## Exercises
# 1. The planted Swish bug is wrong by how much, at most, over the 12 entries of `x` above
#    (the largest absolute difference between the buggy and the true gradient, for an upstream
#    gradient of ones)?
# 2. Does `check_gradients` pass for `lambda t: (t * t).sum()`? Answer 1 for yes, 0 for no.

# %%
answer_1 = None
answer_2 = None

# %%
s = 1 / (1 + np.exp(-x))
check("exercise 1", answer_1, np.abs((s + s * (1 - s)) - (s + x * s * (1 - s))).max())
check("exercise 2", answer_2, float(tl.testing.check_gradients(lambda t: (t * t).sum(), x).passed))
