# %% [markdown]
# # Mixed precision and loss scaling
#
# float16 has 10 bits of mantissa and its smallest normal number is $6.1\times10^{-5}$ (the
# smallest subnormal $6\times10^{-8}$). Gradients of a deep network are often smaller: in
# float16 they flush to zero and the weights stop learning. Loss scaling multiplies the loss by
# $S$ before backward (every gradient is then $S$ times larger, by the chain rule) and divides
# the gradients by $S$ before the update, in float32.

# %%
import numpy as np

import tinygrad_lite as tl
from _exercises import check

small = np.float32(1e-8)
print("1e-8 in float16:", np.float16(small), " scaled by 2**16 then back:",
      np.float32(np.float16(small * 2**16)) / 2**16)  # fmt: skip

# %% [markdown]
# `tl.amp.autocast` runs matmuls in float16 and keeps sums, softmax and losses in float32;
# `tl.amp.GradScaler` scales the loss, skips a step whose gradients overflowed and moves the
# scale like PyTorch's.

# %%
tl.manual_seed(0)
model = tl.nn.Linear(4, 1)
optimizer = tl.optim.SGD(model.parameters(), lr=0.1)
scaler = tl.amp.GradScaler()
x = tl.randn(8, 4)
target = np.zeros((8, 1), np.float32)
with tl.amp.autocast(dtype=tl.float16):
    prediction = model(x)
    loss = tl.nn.functional.mse_loss(prediction, target) * 1e-6  # tiny gradients
print(prediction.dtype, loss.dtype)
scaler.scale(loss).backward()
scaler.step(optimizer)
scaler.update()
print("scale now", scaler.get_scale(), "weight grad", model.weight.grad.numpy())

# %% [markdown]
# ## Exercises
# 1. What is the largest finite float16 number?
# 2. A gradient of $10^{-9}$ in float16 becomes 0. What is the smallest power of two $S$ such
#    that $10^{-9} \cdot S$ is at least float16's smallest subnormal ($2^{-24}$)? Answer with $S$.

# %%
answer_1 = None
answer_2 = None

# %%
check("exercise 1", answer_1, float(np.finfo(np.float16).max))
check("exercise 2", answer_2, 2.0 ** int(np.ceil(np.log2(2.0**-24 / 1e-9))))
