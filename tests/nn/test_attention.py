"""MultiheadAttention against PyTorch's, from its own weights: outputs, attention weights and
gradients for each mask convention (bool masks True = masked out, float masks added,
key_padding_mask), batch_first, unbatched input and the weight options."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

RNG = np.random.default_rng(0)
CASES = {
    "plain": {},
    "bool attn_mask": {"attn_mask": np.triu(np.ones((4, 5), bool), 2)},
    "float attn_mask": {"attn_mask": RNG.standard_normal((4, 5))},
    "key_padding_mask": {"key_padding_mask": np.array([[False] * 4 + [True], [False] * 5])},
    "per-head weights": {"average_attn_weights": False},
    "no weights": {"need_weights": False},
}


def _pair(torch, batch_first, bias=True):
    theirs = torch.nn.MultiheadAttention(6, 2, bias=bias, batch_first=batch_first,
                                         dtype=torch.float64)  # fmt: skip
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn_like(p))
    ours = nn.MultiheadAttention(6, 2, bias=bias, batch_first=batch_first, dtype=np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("self_attention", [False, True], ids=["q, k, v", "x, x, x"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("case", list(CASES))
def test_multihead_attention_equals_pytorch(case, batch_first, self_attention):
    """Separate query, key and value, and one tensor passed as all three (self-attention, which
    takes one projection of it)."""
    torch = pytest.importorskip("torch")
    ours, theirs = _pair(torch, batch_first)
    shape_q, shape_kv = ((2, 4, 6), (2, 5, 6)) if batch_first else ((4, 2, 6), (5, 2, 6))
    options = CASES[case]
    if self_attention:  # 4 keys: the masks drawn for 5 lose their last key
        shape_kv = shape_q
        options = {k: v[..., :4] if isinstance(v, np.ndarray) else v for k, v in options.items()}
    arrays = [RNG.standard_normal(shape_q), RNG.standard_normal(shape_kv),
              RNG.standard_normal(shape_kv)]  # fmt: skip
    torch_options = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                     for k, v in options.items()}  # fmt: skip
    xs = [tl.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    if self_attention:
        xs, ts = xs[:1], ts[:1]
    (y, w), (ty, tw) = (
        ours(*xs * (3 // len(xs)), **options),
        theirs(*ts * (3 // len(ts)), **torch_options),
    )
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert (w is None) == (tw is None)
    if w is not None:
        np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)  # fmt: skip


def test_unbatched_input_and_no_bias_equal_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = _pair(torch, batch_first=False, bias=False)
    x = RNG.standard_normal((3, 6))
    y, w = ours(tl.tensor(x), tl.tensor(x), tl.tensor(x))
    ty, tw = theirs(*(torch.tensor(x),) * 3)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


def test_mistakes_are_named():
    with pytest.raises(ValueError, match="embed_dim 6 is not divisible by num_heads 4"):
        nn.MultiheadAttention(6, 4)
    layer = nn.MultiheadAttention(4, 2)
    with pytest.raises(ValueError, match="is_causal is a hint that comes with attn_mask"):
        layer(tl.ones((3, 1, 4)), tl.ones((3, 1, 4)), tl.ones((3, 1, 4)), is_causal=True)


def test_long_sequences_run_block_by_block_with_far_less_memory():
    """Above BLOCKED_ABOVE scores per head scaled_dot_product_attention never holds the (L, S)
    matrices: the same result and gradients as the plain path, at a fraction of its peak."""
    import tracemalloc

    from tinygrad_lite.nn import attention

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((1, 2, 768, 16)) for _ in range(3)]

    def run(threshold):
        saved, attention.BLOCKED_ABOVE = attention.BLOCKED_ABOVE, threshold
        try:
            q, k, v = (tl.tensor(a, requires_grad=True) for a in arrays)
            tracemalloc.start()
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            y.sum().backward()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        finally:
            attention.BLOCKED_ABOVE = saved
        kind = type(y.creator).__name__ if y.creator else None
        return peak, kind, [y.numpy(), *(t.grad.numpy() for t in (q, k, v))]

    plain_peak, plain_kind, plain = run(10**18)
    blocked_peak, blocked_kind, blocked = run(attention.BLOCKED_ABOVE)
    assert (plain_kind, blocked_kind) == ("MatMul", "BlockedAttention")
    for got, want in zip(blocked, plain):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert blocked_peak < 0.25 * plain_peak, (blocked_peak, plain_peak)


@pytest.mark.parametrize("shape", [(1, 1, 8), (2, 1, 8), (1, 3, 8)])
def test_project_heads_packed_and_apart_agree(shape):
    """Self-attention's packed product (and its one-token shortcut, the KV cache's step) gives
    the q, k, v that three separate products give."""
    tl.manual_seed(0)
    attention = nn.MultiheadAttention(8, 2, batch_first=True).to(dtype=np.float64)
    h = tl.tensor(np.random.default_rng(0).standard_normal(shape))
    packed = attention.project_heads(h, h, h)
    apart = attention.project_heads(h, h * 1.0, h * 1.0)  # not the same tensor: three products
    for a, b in zip(packed, apart):
        assert a.shape == (shape[0], 2, shape[1], 4)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
