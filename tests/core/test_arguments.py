"""Bad arguments are refused where they are given, with a message naming the argument, the
value and what is allowed; nothing fails later with a raw traceback or runs silently wrong."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim


def _w():
    return tl.randn(3, requires_grad=True)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda w: optim.SGD([w], lr=-0.1), "SGD: lr must be >= 0, got -0.1"),
        (lambda w: optim.SGD([w], lr="fast"), "SGD: lr must be a number, got 'fast'"),
        (lambda w: optim.SGD([w], lr=float("nan")), "lr must be >= 0"),
        (lambda w: optim.Adam([w], betas=(0.9, 1.0)), r"betas\[1\] must be in \[0, 1\), got 1.0"),
        (lambda w: optim.Adam([w], betas=(-0.1, 0.9)), r"betas\[0\] must be in \[0, 1\)"),
        (lambda w: optim.Adam([w], eps=-1e-8), "eps must be >= 0"),
        (lambda w: optim.AdamW([w], weight_decay=-1), "weight_decay must be >= 0"),
        (lambda w: optim.RMSprop([w], alpha=-1), "alpha must be >= 0"),
        (lambda w: optim.SGD([{"params": [w], "lr": -1}]), "lr must be >= 0"),
        (lambda w: optim.SGD([w, w]), "listed twice"),
        (lambda w: optim.SGD([{"params": [w]}, {"params": [w]}]), "listed twice"),
        (lambda w: optim.lr_scheduler.StepLR(optim.SGD([w]), step_size=0), "step_size must be"),
        (lambda w: optim.lr_scheduler.CosineAnnealingLR(optim.SGD([w]), T_max=0), "T_max must be"),
        (lambda w: optim.lr_scheduler.ExponentialLR(optim.SGD([w]), gamma=-1), "gamma must be a"),
        (lambda w: nn.Dropout(1.5), r"Dropout: p must be a probability in \[0, 1\], got 1.5"),
        (lambda w: nn.Dropout(-0.1), "Dropout: p must be"),
        (lambda w: nn.Linear(0, 3), "Linear: in_features must be a positive integer, got 0"),
        (lambda w: nn.Linear(3, 2.5), "Linear: out_features must be a positive integer, got 2.5"),
        (lambda w: nn.Conv2d(0, 3, 3), "Conv2d: in_channels must be a positive integer"),
        (lambda w: nn.Embedding(10, 0), "Embedding: embedding_dim must be a positive integer"),
        (lambda w: nn.BatchNorm1d(0), "BatchNorm1d: num_features must be a positive integer"),
        (lambda w: nn.BatchNorm1d(4)(tl.ones(1, 4)), "more than one value per channel"),
    ],
)  # fmt: skip
def test_bad_argument_is_refused_with_a_clear_message(make, message):
    with pytest.raises(ValueError, match=message):
        make(_w())


def test_a_single_tensor_is_not_a_parameter_list():
    with pytest.raises(TypeError, match="iterable of Tensors.*got a single Tensor"):
        optim.SGD(_w())


def test_batch_norm_of_one_sample_is_fine_in_eval():
    layer = nn.BatchNorm1d(4).eval()
    assert layer(tl.ones(1, 4)).shape == (1, 4)


def _trained_adam(w):
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    return opt


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda sd: sd["state"]["0"].__setitem__("exp_avg", np.zeros(5)), "has shape \\(5,\\)"),
        (lambda sd: sd.pop("state"), "'state' and 'param_groups'"),
        (lambda sd: sd["state"].__setitem__("7", sd["state"].pop("0")), "parameter 7"),
        (lambda sd: sd["state"].__setitem__("x", sd["state"].pop("0")), "not a parameter index"),
        (lambda sd: sd["param_groups"][0].__setitem__("lr", -1.0), "lr must be >= 0"),
    ],
)
def test_optimizer_load_state_dict_validates_then_applies(spoil, message):
    w = _w()
    state_dict = _trained_adam(w).state_dict()
    spoil(state_dict)
    target = optim.Adam([w], lr=0.5)
    with pytest.raises(ValueError, match=message):
        target.load_state_dict(state_dict)
    assert target.param_groups[0]["lr"] == 0.5 and target.state == {}


def test_bool_of_a_tensor_with_several_elements_is_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(tl.ones(3))
    assert bool(tl.ones(1)) and not bool(tl.zeros(()))


def test_cross_entropy_with_float_labels_says_integers_are_expected():
    with pytest.raises(ValueError, match="class labels must be integers"):
        nn.functional.cross_entropy(tl.randn(2, 3), np.array([0.0, 1.0]))
