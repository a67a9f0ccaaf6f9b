"""TransformerEncoderLayer against PyTorch's, from its own state_dict: post-norm and pre-norm,
relu and gelu, masks, batch_first; outputs and every gradient in float64."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn.transformer import generate_square_subsequent_mask


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_equals_pytorch(norm_first, activation, batch_first):
    torch = pytest.importorskip("torch")
    options = dict(dim_feedforward=16, dropout=0.0, activation=activation,
                   batch_first=batch_first, norm_first=norm_first)  # fmt: skip
    theirs = torch.nn.TransformerEncoderLayer(8, 2, dtype=torch.float64, **options)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    ours = nn.TransformerEncoderLayer(8, 2, dtype=np.float64, **options)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    shape = (2, 5, 8) if batch_first else (5, 2, 8)
    x = np.random.default_rng(0).standard_normal(shape)
    mask = generate_square_subsequent_mask(5)
    ours_x, theirs_x = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = ours(ours_x, src_mask=mask, is_causal=True)
    expected = theirs(theirs_x, src_mask=torch.from_numpy(mask), is_causal=True)
    np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-11)
    y.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-8, atol=1e-10)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-8, atol=1e-10,
                                   err_msg=name)  # fmt: skip


def test_an_unknown_activation_is_named():
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")
