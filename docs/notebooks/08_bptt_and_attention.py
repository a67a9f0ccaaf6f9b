# %% [markdown]
# # Backprop through time, and attention
#
# An RNN applies the same step at every time step, so its gradient is the chain rule through
# the unrolled steps; the weight gradient is the sum over steps. Here a one-unit RNN
# $h_t = \tanh(w h_{t-1} + x_t)$ by hand, against `nn.RNN`.

# %%
import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn
from _exercises import check

w, xs = 0.8, np.array([0.5, -1.0, 0.25])
hs = [0.0]
for x in xs:
    hs.append(np.tanh(w * hs[-1] + x))
# L = h_T; backward from the last step to the first
dh, dw = 1.0, 0.0
for t in range(len(xs), 0, -1):
    da = dh * (1 - hs[t] ** 2)  # through tanh
    dw += da * hs[t - 1]  # the weight is used at every step: its gradients add
    dh = da * w  # to the previous hidden state
print("dL/dw by hand:", dw)

rnn = nn.RNN(1, 1, bias=False).to(dtype=np.float64)
rnn.weight_hh_l0.data[...] = w
rnn.weight_ih_l0.data[...] = 1.0
output, _ = rnn(tl.tensor(xs.reshape(3, 1, 1)))
output[-1].sum().backward()
print("the engine:", rnn.weight_hh_l0.grad.item())
np.testing.assert_allclose(dw, rnn.weight_hh_l0.grad.item(), rtol=1e-12)

# %% [markdown]
# Truncated BPTT stops the loop after $k$ steps (the state is detached between chunks): the
# gradient then misses the longer paths. Attention's weights are a softmax over scores
# $q \cdot k / \sqrt d$; a causal mask sets later positions to $-\infty$, so they get weight 0
# and gradient 0.

# %%
q = tl.tensor(np.random.default_rng(0).standard_normal((1, 3, 4)), requires_grad=True)
out = tl.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True)
out[:, 0].sum().backward()  # the first position sees only itself
print(q.grad.numpy()[0])

# %% [markdown]
# ## Exercises
# 1. With truncation after the last step only (the loop above run for $t = T$ alone), what is
#    $\partial L/\partial w$?
# 2. In the attention cell above, the output at position 0 depends on which positions of `q`?
#    Answer with the number of positions whose gradient row is not all zero.

# %%
answer_1 = None
answer_2 = None

# %%
T = len(xs)
check("exercise 1", answer_1, (1 - hs[T] ** 2) * hs[T - 1])
check("exercise 2", answer_2, int((np.abs(q.grad.numpy()[0]).sum(1) > 0).sum()))
