# %% [markdown]
# # Pruning and quantization
#
# Pruning sets small weights to zero and keeps a mask so they stay zero while fine-tuning: the
# gradient of a pruned weight is multiplied by 0. Quantization stores weights as 8-bit integers
# with a scale, $w \approx s \cdot q$, $q \in \{-127, …, 127\}$, trading a rounding error of at
# most $s/2$ per weight for 4× less memory.

# %%
import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn
from _exercises import check

tl.manual_seed(0)
layer = nn.Linear(8, 4)
nn.utils.prune.l1_unstructured(layer, "weight", amount=0.5)
print("zeros:", int((layer.weight.numpy() == 0).sum()), "of", layer.weight.numpy().size)
x = tl.randn(3, 8)
layer(x).sum().backward()
mask = layer.weight_mask.numpy() if hasattr(layer, "weight_mask") else None
print("gradient of the original weights where pruned:",
      layer.weight_orig.grad.numpy()[mask == 0][:4])  # fmt: skip

# %% [markdown]
# Symmetric int8 quantization of one weight matrix, by hand:

# %%
w = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
scale = np.abs(w).max() / 127
q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
error = np.abs(q * scale - w).max()
print(f"scale {scale:.5f}, largest error {error:.5f} <= scale / 2 = {scale / 2:.5f}")

# %% [markdown]
# ## Exercises
# 1. How many bytes do the int8 weights of a 256×784 layer take (without the scale)?
# 2. With `amount=0.5` above, how many of the 32 weights are zero?

# %%
answer_1 = None
answer_2 = None

# %%
check("exercise 1", answer_1, 256 * 784)
check("exercise 2", answer_2, int((layer.weight.numpy() == 0).sum()))
