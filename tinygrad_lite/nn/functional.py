"""The stateless forms of layers and losses (torch.nn.functional's names)."""

from ..ops import (
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softmax_cross_entropy,
    softplus,
    tanh,
)
from .attention import scaled_dot_product_attention
from .conv import avg_pool2d, conv2d, conv_transpose2d, max_pool2d
from .layer_norm import layer_norm, rms_norm
from .layers import dropout, embedding, linear
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    distillation_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .normalization import batch_norm
