"""tl.quantization: int8 models with torch.ao.quantization's interface.

    int8 = tl.quantization.quantize_dynamic(model, {tl.nn.Linear})      # weights now, inputs live
    prepared = tl.quantization.prepare(model)                           # static: observe inputs,
    for x, _ in calibration_batches: prepared(x)                        #   on representative data,
    int8 = tl.quantization.convert(prepared)                            #   then fix their ranges
    qat = tl.quantization.prepare_qat(model); train(qat); int8 = tl.quantization.convert(qat)

Weights are int8, symmetric, one scale per output channel; activations uint8, affine, one scale
per tensor. The integer products are exact (`int8_matmul`, through float32 BLAS). Observers and
fake quantization match PyTorch's values. Derivation: docs/derivations/compression.md
"""

from .convert import (
    Observed,
    QATConv2d,
    QATLinear,
    convert,
    prepare,
    prepare_qat,
    quantize_dynamic,
)
from .fake_quantize import (
    FakeQuantize,
    fake_quantize,
    fake_quantize_per_channel_affine,
    fake_quantize_per_tensor_affine,
)
from .int8 import (
    QuantizedConv2d,
    QuantizedLinear,
    QuantizedMultiheadAttention,
    int8_matmul,
    quantize,
)
from .observers import (
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    PerChannelMinMaxObserver,
    activation_observer,
    weight_observer,
)
