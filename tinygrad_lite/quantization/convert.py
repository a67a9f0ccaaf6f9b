"""From a float model to an int8 one, with torch.ao.quantization's three workflows:

    dynamic:  quantize_dynamic(model, {nn.Linear})            int8 weights now; each batch's
                                                              input range measured as it runs
    static:   prepared = prepare(model); run calibration data through it;
              quantized = convert(prepared)                   input ranges fixed by calibration
    QAT:      qat = prepare_qat(model); train it (fake quantization in the forward);
              quantized = convert(qat)

Each Linear and Conv2d (of the kinds asked for) is replaced; everything else (activations,
pooling, Flatten, BatchNorm) stays float and runs between the quantized layers. None of these
changes the model passed in unless inplace=True.
"""

from __future__ import annotations

import copy

from ..nn.attention import MultiheadAttention
from ..nn.conv import Conv2d, conv2d
from ..nn.layers import Linear, linear
from ..nn.module import Module
from .fake_quantize import fake_quantize
from .int8 import QuantizedConv2d, QuantizedLinear, QuantizedMultiheadAttention
from .observers import activation_observer, weight_observer

_QUANTIZED = {Linear: QuantizedLinear, Conv2d: QuantizedConv2d}


def _replace(model: Module, make, inplace: bool) -> Module:
    """The model (a deep copy unless inplace) with every module m for which make(m) gives a
    module replaced by it; the root itself too."""
    model = model if inplace else copy.deepcopy(model)
    replacement = make(model)
    if replacement is not None:
        return replacement
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            replacement = make(child)
            if replacement is not None:
                setattr(module, name, replacement)
    return model


def _kinds(spec, allowed=tuple(_QUANTIZED)) -> tuple[type, ...]:
    kinds = tuple(spec)
    unknown = [k for k in kinds if k not in allowed]
    if unknown:
        names = ", ".join(f"nn.{k.__name__}" for k in allowed)
        raise ValueError(f"quantization: only {names} can be quantized here, got "
                         f"{[k.__name__ for k in unknown]}")  # fmt: skip
    return kinds


def _weight_scale(weight) -> object:
    observer = weight_observer()
    observer(weight)
    return observer.calculate_qparams()[0]


def quantize_dynamic(model: Module, qconfig_spec=(Linear,), inplace: bool = False) -> Module:
    """Int8 weights (per output channel, symmetric) for the listed layer kinds (nn.Linear by
    default; nn.Conv2d and nn.MultiheadAttention allowed: the attention's packed in-projection
    and out_proj become int8); inputs are quantized to uint8 batch by batch, from their own
    minimum and maximum."""
    kinds = _kinds(qconfig_spec, (*_QUANTIZED, MultiheadAttention))

    def make(module):
        if type(module) is MultiheadAttention and MultiheadAttention in kinds:
            return QuantizedMultiheadAttention(module, _weight_scale(module.in_proj_weight),
                                               _weight_scale(module.out_proj.weight))  # fmt: skip
        if type(module) in kinds and type(module) in _QUANTIZED:
            return _QUANTIZED[type(module)](module, _weight_scale(module.weight))
        return None

    return _replace(model, make, inplace)


class Observed(Module):
    """A layer with an observer of its input (the calibration step of static quantization)."""

    def __init__(self, layer: Module, observer=None):
        self.layer = layer
        self.input_observer = observer or activation_observer()

    def forward(self, x):
        return self.layer(self.input_observer(x))

    def quantized(self) -> Module:
        return _QUANTIZED[type(self.layer)](self.layer, _weight_scale(self.layer.weight),
                                            self.input_observer.calculate_qparams())  # fmt: skip


def prepare(model: Module, qconfig_spec=(Linear, Conv2d), inplace: bool = False) -> Module:
    """The model with an input observer (uint8, affine, min-max) on each listed layer: run
    representative data through it, then `convert`."""
    kinds = _kinds(qconfig_spec)
    return _replace(model, lambda m: Observed(m) if type(m) in kinds else None, inplace)


class _QATLayer(Observed):
    """A Linear or Conv2d trained with fake quantization of its input (uint8, moving-average
    range) and of its weight (int8, per channel, range of the current weight): the forward
    sees int8 rounding, the backward passes straight through it (fake_quantize.py). Converted
    like an observed layer, from its input observer's range."""

    def __init__(self, layer: Module):
        # NOTE: the same Parameters as `layer`: an optimizer built before still works
        super().__init__(layer, activation_observer(moving_average=True))
        self.weight_observer = weight_observer()

    def forward(self, x):
        x = fake_quantize(x, self.input_observer, observe=self.training)
        weight = fake_quantize(self.layer.weight, self.weight_observer, observe=True)
        return self.apply_layer(x, weight)


class QATLinear(_QATLayer):
    def apply_layer(self, x, weight):
        return linear(x, weight, self.layer.bias)


class QATConv2d(_QATLayer):
    def apply_layer(self, x, weight):
        layer = self.layer
        return conv2d(x, weight, layer.bias, layer.stride, layer.padding, layer.dilation,
                      layer.groups)  # fmt: skip


def prepare_qat(model: Module, qconfig_spec=(Linear, Conv2d), inplace: bool = False) -> Module:
    """The model with each listed layer trained under fake quantization (QATLinear, QATConv2d);
    train it as usual (build the optimizer after this call), then `convert`."""
    kinds = _kinds(qconfig_spec)
    qat = {Linear: QATLinear, Conv2d: QATConv2d}
    return _replace(model, lambda m: qat[type(m)](m) if type(m) in kinds else None, inplace)


def convert(model: Module, inplace: bool = False) -> Module:
    """The prepared (observed or QAT) model with each such layer replaced by its int8 form, its
    input quantized with the range observed during calibration or training. In eval mode."""
    converted = _replace(
        model, lambda m: m.quantized() if isinstance(m, Observed) else None, inplace
    )
    return converted.eval()
