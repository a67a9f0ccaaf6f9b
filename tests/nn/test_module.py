import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


class TwoLayer(nn.Module):
    def __init__(self):
        self.hidden = nn.Linear(3, 4)
        self.out = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.register_buffer("calls", tl.zeros(1))

    def forward(self, x):
        return self.out(self.hidden(x).relu()) * self.scale


def test_parameters_are_registered_from_attributes_in_order():
    model = TwoLayer()
    assert [n for n, _ in model.named_parameters()] == [
        "hidden.weight",
        "hidden.bias",
        "out.weight",
        "scale",
    ]
    assert [type(c).__name__ for c in model.children()] == ["Linear", "Linear"]
    assert len(list(model.modules())) == 3


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2


def test_state_dict_includes_buffers_and_copies():
    model = TwoLayer()
    state = model.state_dict()
    assert set(state) == {"hidden.weight", "hidden.bias", "out.weight", "scale", "calls"}
    state["scale"][0] = 5.0
    assert model.scale.item() == 1.0


def test_load_state_dict_wrong_shape_names_key_and_shapes_and_changes_nothing():
    model = TwoLayer()
    before = model.state_dict()
    bad = dict(before, **{"out.weight": np.zeros((3, 4)), "hidden.bias": np.full(4, 9.0)})
    with pytest.raises(
        ValueError, match=r"'out.weight' has shape \(3, 4\) in the state but \(2, 4\) in the model"
    ):
        model.load_state_dict(bad)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_missing_and_unexpected_keys():
    model = TwoLayer()
    state = model.state_dict()
    del state["scale"]
    state["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match=r"missing keys \['scale'\], unexpected keys \['extra'\]"):
        model.load_state_dict(state)
    model.load_state_dict(state, strict=False)  # loads what matches


def test_repr_shows_the_tree():
    model = nn.Sequential(
        nn.Linear(784, 128), nn.ReLU(), nn.Sequential(nn.Dropout(0.2), nn.Linear(128, 10))
    )
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=128, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Dropout(p=0.2)\n"
        "    (1): Linear(in_features=128, out_features=10, bias=True)\n"
        "  )\n"
        ")"
    )


def test_train_eval_and_dropout():
    model = nn.Sequential(nn.Dropout(0.5))
    x = tl.ones(1000)
    tl.manual_seed(0)
    y = model(x).numpy()
    assert set(np.unique(y)) == {0.0, 2.0} and 400 < (y == 0).sum() < 600  # inverted dropout
    model.eval()
    assert not model[0].training
    np.testing.assert_array_equal(model(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)  # refused at construction, not at the first forward
    assert nn.Dropout(1.0).train()(x).tolist() == [0.0] * 1000  # p = 1 drops all, as in PyTorch


def test_dropout_gradient_uses_the_same_mask():
    x = tl.ones(100, dtype=np.float64, requires_grad=True)
    y = nn.functional.dropout(x, 0.3)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())


def test_zero_grad():
    model = TwoLayer()
    model(tl.ones((2, 3))).sum().backward()
    assert model.hidden.weight.grad is not None
    model.zero_grad(set_to_none=False)
    assert model.hidden.weight.grad.numpy().sum() == 0
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_linear_checks_input_features():
    with pytest.raises(
        ValueError, match=r"Linear: input of shape \(2, 5\) does not end in in_features=3"
    ):
        nn.Linear(3, 1)(tl.ones((2, 5)))


def test_linear_default_init_bounds_follow_pytorch():
    tl.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)


@pytest.mark.parametrize(
    "init, expected_std",
    [
        (lambda t: nn.init.xavier_uniform_(t), np.sqrt(2 / (200 + 100))),
        (lambda t: nn.init.xavier_normal_(t), np.sqrt(2 / (200 + 100))),
        (lambda t: nn.init.kaiming_normal_(t, nonlinearity="relu"), np.sqrt(2 / 200)),
        (lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), np.sqrt(2 / 200)),
        (lambda t: nn.init.normal_(t, 0.0, 0.3), 0.3),
    ],
)
def test_initializers_have_the_documented_spread(init, expected_std):
    tl.manual_seed(0)
    weight = tl.zeros((100, 200))
    init(weight)
    assert weight.numpy().std() == pytest.approx(expected_std, rel=0.03)


def test_constant_initializers():
    weight = tl.ones((2, 2))
    nn.init.zeros_(weight)
    assert weight.numpy().sum() == 0
    nn.init.constant_(weight, 0.5)
    assert weight.numpy().tolist() == [[0.5, 0.5], [0.5, 0.5]]
    with pytest.raises(ValueError, match="fan in/out need a weight of 2 or more dimensions"):
        nn.init.xavier_uniform_(tl.ones(3))


def test_penalties_match_weight_decay():
    w = tl.tensor(np.array([1.0, -2.0]), requires_grad=True)
    nn.l2_penalty([w], weight_decay=0.1).backward()
    np.testing.assert_allclose(w.grad.numpy(), [0.1, -0.2])  # = weight_decay * w
    w.zero_grad()
    nn.l1_penalty([w], strength=0.5).backward()
    np.testing.assert_allclose(w.grad.numpy(), [0.5, -0.5])


def test_linear_layers_gradcheck_through_the_functional_form():
    rng = np.random.default_rng(0)
    x = tl.tensor(rng.standard_normal((5, 3)))
    weights = [
        tl.Tensor(rng.standard_normal(s), requires_grad=True) for s in [(4, 3), (4,), (2, 4), (2,)]
    ]

    def network(w1, b1, w2, b2):
        return nn.functional.linear(nn.functional.linear(x, w1, b1).tanh(), w2, b2)

    assert tl.gradcheck(network, weights)
    assert tl.gradgradcheck(network, weights)
