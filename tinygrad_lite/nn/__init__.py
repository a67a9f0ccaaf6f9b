"""Layers, losses and containers: tl.nn, with torch.nn's names."""

from . import functional, init, parallel, utils
from .attention import MultiheadAttention
from .conv import AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d
from .layer_norm import LayerNorm, RMSNorm
from .layers import (
    GELU,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from .module import Module, Parameter, Sequential
from .normalization import BatchNorm1d, BatchNorm2d
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .transformer import TransformerEncoderLayer
from .utils import clip_grad_norm_, l1_penalty, l2_penalty
