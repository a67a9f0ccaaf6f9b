"""Module, Parameter and Sequential: the containers every layer and model is built from.

A Module finds its parameters, buffers and sub-modules by looking at its own attributes (in the
order they were assigned), so `self.fc = Linear(3, 4)` is all it takes to register a layer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from .. import autograd, state
from ..autograd import no_grad
from ..backend import is_floating, to_device
from ..tensor import Structure, Tensor


def check_sizes(layer: str, **sizes) -> None:
    """Raise ValueError unless every size is a positive integer, naming the argument and value
    (as PyTorch does at construction, not at the first forward)."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")


class Parameter(Tensor):
    """A Tensor that a Module trains: it requires grad, and Modules list it in `parameters()`."""

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)


class Module:
    """Base class of layers and models: define `forward`, assign sub-modules and Parameters as
    attributes, and call the module like a function.

    Buffers are Tensors that are part of the state but not trained (BatchNorm's running mean):
    register them with `register_buffer` so `state_dict` includes them.
    """

    training: bool = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __setattr__(self, name: str, value) -> None:
        object.__setattr__(self, name, value)
        Structure.version += 1

    def __call__(self, *args, **kwargs):
        if state.modes.observer is not None:
            state.modes.observer.on_module(self)
        return self.forward(*args, **kwargs)

    def __getattr__(self, name: str):
        """Only for names not found normally: a pruned parameter (nn.utils.prune) is the product
        of `name_orig` and `name_mask`, recomputed (and recorded) at every access."""
        state = self.__dict__
        if name + "_orig" in state and name + "_mask" in state:
            return state[name + "_orig"] * state[name + "_mask"]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ---- the tree -----------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        return (child for _, child in self.named_children())

    def modules(self) -> Iterator[Module]:
        """This module and every module below it, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def register_buffer(self, name: str, tensor: Tensor) -> None:
        self.__dict__.setdefault("_buffer_names", [])
        if name not in self._buffer_names:
            self._buffer_names.append(name)
        setattr(self, name, tensor)

    def _named_state(self, prefix: str, include_buffers: bool) -> Iterator[tuple[str, Tensor]]:
        buffers = self.__dict__.get("_buffer_names", ())
        for name, value in vars(self).items():
            if isinstance(value, Parameter) or (include_buffers and name in buffers):
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value._named_state(f"{prefix}{name}.", include_buffers)

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, e.g. ('0.weight', ...), each parameter once."""
        seen = set()
        for name, p in self._named_state("", include_buffers=False):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def parameters(self) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters())

    # ---- modes and gradients ------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    @autograd.replayed_whole
    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            p.zero_grad(set_to_none)

    # ---- device and dtype ----------------------------------------------------------------------
    def to(self, device=None, dtype=None) -> Module:
        """Move every parameter and buffer (and gradient) to `device` and/or cast float ones to
        `dtype`, in place, so optimizers built on `parameters()` keep working; returns self."""
        for _, t in self._named_state("", include_buffers=True):
            for holder in (t, t.grad):
                if holder is None:
                    continue
                data = holder.data if device is None else to_device(holder.data, device)
                if dtype is not None and is_floating(data.dtype):
                    data = data.astype(dtype)
                holder.data = data
        return self

    def cuda(self) -> Module:
        return self.to("cuda")

    def cpu(self) -> Module:
        return self.to("cpu")

    # ---- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed by dotted name."""
        return {name: t.numpy().copy() for name, t in self._named_state("", include_buffers=True)}

    def load_state_dict(self, state: Mapping[str, np.ndarray], strict: bool = True) -> None:
        """Copy values from `state` into this module's parameters and buffers.

        Everything is checked before anything is written, so a bad state leaves the module as it
        was. With strict=True, missing and unexpected keys are errors.

        Raises:
            KeyError: missing or unexpected keys (strict), naming them.
            ValueError: a shape that differs, naming the key and both shapes, or values that
                cannot be cast to the parameter's dtype (strings, objects, floats into ints).
        """
        own = dict(self._named_state("", include_buffers=True))
        missing = sorted(own.keys() - state.keys())
        unexpected = sorted(state.keys() - own.keys())
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        values = {}
        for name in sorted(own.keys() & state.keys()):  # NOTE: all checked, then all written
            value = state[name]
            value = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
            if value.shape != own[name].shape:
                raise ValueError(
                    f"load_state_dict: '{name}' has shape {value.shape} in the state but "
                    f"{own[name].shape} in the model"
                )
            castable = (
                value.dtype == own[name].dtype
                or (
                    value.dtype.kind in "biuf"
                    and np.can_cast(value.dtype, own[name].dtype, "same_kind")
                )
                or (is_floating(value.dtype) and is_floating(own[name].dtype))
            )
            if not castable:
                raise ValueError(
                    f"load_state_dict: '{name}' holds {value.dtype} values, which cannot become "
                    f"the model's {own[name].dtype}"
                )
            values[name] = value
        with no_grad():
            for name, value in values.items():
                own[name].copy_(own[name].xp.asarray(value))

    # ---- printing -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's own settings, shown inside its parentheses in repr."""
        return ""

    def __repr__(self) -> str:
        children = [f"({name}): {child!r}" for name, child in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        body = "\n".join("  " + line for child in children for line in child.splitlines())
        return f"{type(self).__name__}(\n{body}\n)"


class Sequential(Module):
    """Modules applied one after another: Sequential(Linear(4, 8), ReLU(), Linear(8, 1))."""

    def __init__(self, *layers: Module):
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        """One layer, or for a slice a Sequential of those layers (the same objects), as in
        PyTorch."""
        if isinstance(index, slice):
            return Sequential(*list(self.children())[index])
        return list(self.children())[index]

    def __setitem__(self, index: int, module: Module) -> None:
        """Replace one layer (model[1] = ReLU()), keeping its place and name, as in PyTorch."""
        name = list(dict(self.named_children()))[index]
        setattr(self, name, module)

    def __len__(self) -> int:
        return len(list(self.children()))

    def __iter__(self) -> Iterator[Module]:
        return self.children()
