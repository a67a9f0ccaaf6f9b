"""Specs of the spatial layers. Each `case` draws a window (kernel, stride, padding, dilation,
groups) and an image it fits, together, so every drawn case is valid."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tinygrad_lite import ops
from tinygrad_lite.nn import functional as F
from tinygrad_lite.ops.conv import Window

from .opspec import OpSpec


def _torch():
    import torch

    return torch


def draw_window(data, pooling=False) -> Window:
    kernel = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    stride = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    dilation = (1, 1) if pooling else (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    limits = [k // 2 for k in kernel] if pooling else [2, 2]  # PyTorch pools pad <= kernel / 2
    padding = (data.draw(st.integers(0, limits[0])), data.draw(st.integers(0, limits[1])))
    return Window(kernel, stride, padding, dilation)


def draw_image(data, window: Window, channels: int) -> tuple[int, int, int, int]:
    """(N, C, H, W) with H, W large enough for at least one window position."""
    spans = [
        d * (k - 1) + 1 - 2 * p for k, p, d in zip(window.kernel, window.padding, window.dilation)
    ]
    height, width = (max(span, 1) + data.draw(st.integers(0, 3)) for span in spans)
    return data.draw(st.integers(1, 2)), channels, height, width


def window_kwargs(window: Window) -> dict:
    return {"kernel_size": window.kernel, "stride": window.stride, "padding": window.padding,
            "dilation": window.dilation}  # fmt: skip


def unfold_case(data):
    window = draw_window(data)
    return [draw_image(data, window, data.draw(st.integers(1, 3)))], window_kwargs(window)


def fold_case(data):
    window = draw_window(data)
    n, c, height, width = draw_image(data, window, data.draw(st.integers(1, 3)))
    oh, ow = window.output_size(height, width, "fold")
    return [(n, oh, ow, c, *window.kernel)], {
        "output_size": (height, width),
        **window_kwargs(window),
    }


def conv_case(data):
    groups = data.draw(st.integers(1, 2))
    group_in, group_out = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    window = draw_window(data)
    image = draw_image(data, window, groups * group_in)
    shapes = [image, (groups * group_out, group_in, *window.kernel), (groups * group_out,)]
    params = window_kwargs(window)
    del params["kernel_size"]  # it is the weight's shape
    return shapes, {**params, "groups": groups}


def pool_case(data):
    window = draw_window(data, pooling=True)
    params = window_kwargs(window)
    del params["dilation"]
    return [draw_image(data, window, data.draw(st.integers(1, 3)))], params


def torch_unfold(x, kernel_size, stride, padding, dilation):
    """torch's (N, C·KH·KW, L) layout turned into ours, (N, OH, OW, C, KH, KW)."""
    cols = _torch().nn.functional.unfold(x, kernel_size, dilation, padding, stride)
    oh, ow = Window(kernel_size, stride, padding, dilation).output_size(*x.shape[2:], "unfold")
    return cols.reshape(x.shape[0], x.shape[1], *kernel_size, oh, ow).permute(0, 4, 5, 1, 2, 3)


def torch_fold(cols, output_size, kernel_size, stride, padding, dilation):
    n, oh, ow, c, kh, kw = cols.shape
    flat = cols.permute(0, 3, 4, 5, 1, 2).reshape(n, c * kh * kw, oh * ow)
    return _torch().nn.functional.fold(flat, output_size, kernel_size, dilation, padding, stride)


def batch_norm_case(data):
    channels = data.draw(st.integers(1, 3))
    spatial = data.draw(st.sampled_from([(), (3,), (2, 3)]))
    return [(data.draw(st.integers(2, 4)), channels, *spatial), (channels,), (channels,)], {}


def embedding_case(data):
    rows, width = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 3))
    picks = data.draw(st.lists(st.integers(0, rows - 1), min_size=1, max_size=6))
    indices = np.array(picks).reshape(-1, 1) if len(picks) % 2 else np.array(picks).reshape(2, -1)
    return [(rows, width)], {"indices": indices}


def linear_case(data, bias=True):
    """x (..., in) with 0 to 2 leading axes (an empty batch included), w (out, in), b (out,)."""
    lead = data.draw(st.lists(st.integers(0, 3), max_size=2))
    features, outputs = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    weight_and_bias = [(outputs, features), (outputs,)] if bias else [(outputs, features)]
    return [(*lead, features), *weight_and_bias], {}


def layer_norm_case(data, affine=2):
    """x (..., *normalized) with 0 to 2 leading axes, and `affine` tensors of normalized's shape."""
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2))
    normalized = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    return [(*lead, *normalized), *[normalized] * affine], {"normalized_shape": normalized}


def conv_transpose_case(data):
    """x (N, C_in, H, W), weight (C_in, C_out / groups, KH, KW), bias, and a window with an
    output_padding smaller than its stride or dilation."""
    window = draw_window(data)
    groups = data.draw(st.sampled_from([1, 2]))
    per_group_in, group_out = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    extra = tuple(data.draw(st.integers(0, max(s, d) - 1))
                  for s, d in zip(window.stride, window.dilation))  # fmt: skip
    size = (data.draw(st.integers(1, 2)), groups * per_group_in, data.draw(st.integers(1, 3)),
            data.draw(st.integers(1, 3)))  # fmt: skip
    covered = [(n - 1) * s + d * (k - 1) + 1 + e for n, s, d, k, e in
               zip(size[2:], window.stride, window.dilation, window.kernel, extra)]  # fmt: skip
    padding = tuple(min(p, (c - 1) // 2) for p, c in zip(window.padding, covered))
    params = {
        "stride": window.stride,
        "padding": padding,
        "dilation": window.dilation,
        "groups": groups,
        "output_padding": extra,
    }
    return [size, (groups * per_group_in, group_out, *window.kernel), (groups * group_out,)], params


def attention_case(data):
    """q (..., L, E), k (..., S, E), v (..., S, Ev), and one of: no mask, causal, a bool mask
    (rows with no key left included), a float mask, a scale."""
    lead = data.draw(st.lists(st.integers(1, 2), max_size=2))
    queries, keys, width, out = (data.draw(st.integers(1, 4)) for _ in range(4))
    kind = data.draw(st.sampled_from(["none", "causal", "bool", "float", "scale"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    params = {"none": {}, "causal": {"is_causal": True}, "scale": {"scale": 0.5},
              "bool": {"attn_mask": rng.random((queries, keys)) > 0.4},
              "float": {"attn_mask": rng.standard_normal((queries, keys))}}[kind]  # fmt: skip
    return [(*lead, queries, width), (*lead, keys, width), (*lead, keys, out)], params


def torch_attention(q, k, v, **params):
    if "attn_mask" in params:
        params = {**params, "attn_mask": _torch().from_numpy(params["attn_mask"])}
    return _torch().nn.functional.scaled_dot_product_attention(q, k, v, **params)


def lstm_sequence_case(data):
    """gates_x (T, N, 4H), h0 and c0 (N, H), w_hh (4H, H): 1 to 3 steps, an empty batch included."""
    steps, batch, size = (
        data.draw(st.integers(1, 3)),
        data.draw(st.integers(0, 3)),
        data.draw(st.integers(1, 3)),
    )
    return [(steps, batch, 4 * size), (batch, size), (batch, size), (4 * size, size)], {}


def blocked_attention_case(data):
    """q (N, H, L, E), k and v (N, H, S, ·), blocks of 1 to 3 rows so most cases have several,
    causal or not."""
    lead = [data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))]
    queries, keys, width, out = (data.draw(st.integers(1, 5)) for _ in range(4))
    params = {"causal": data.draw(st.booleans()), "block": data.draw(st.integers(1, 3)),
              "scale": data.draw(st.sampled_from([0.5, 1.0]))}  # fmt: skip
    return [(*lead, queries, width), (*lead, keys, width), (*lead, keys, out)], params


def torch_blocked_attention(q, k, v, causal, block, scale):
    return _torch().nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal,
                                                               scale=scale)  # fmt: skip


def torch_lstm_sequence(gates_x, h, c, w_hh):
    """PyTorch's own LSTM cell, step by step; W_ih = I, so its input projection is gates_x[t]."""
    torch, outputs = _torch(), []
    identity = torch.eye(gates_x.shape[-1], dtype=gates_x.dtype)
    for t in range(gates_x.shape[0]):
        h, c = torch.lstm_cell(gates_x[t], (h, c), identity, w_hh)
        outputs.append(torch.cat([h, c], -1))
    return torch.stack(outputs)


LAYER_SPECS = [
    OpSpec("linear", F.linear, lambda x, w, b: _torch().nn.functional.linear(x, w, b),
           case=linear_case),
    OpSpec("linear_no_bias", F.linear, lambda x, w: _torch().nn.functional.linear(x, w),
           case=lambda data: linear_case(data, bias=False)),
    OpSpec("unfold", ops.unfold, torch_unfold, case=unfold_case),
    OpSpec("fold", ops.fold, torch_fold, case=fold_case),
    OpSpec("conv2d", F.conv2d, lambda x, w, b, **p: _torch().nn.functional.conv2d(x, w, b, **p),
           case=conv_case),
    OpSpec("max_pool2d", F.max_pool2d, lambda x, **p: _torch().nn.functional.max_pool2d(x, **p),
           case=pool_case, distinct=True),
    OpSpec("avg_pool2d", F.avg_pool2d, lambda x, **p: _torch().nn.functional.avg_pool2d(x, **p),
           case=pool_case),
    OpSpec("batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
           lambda x, w, b: _torch().nn.functional.batch_norm(x, None, None, w, b, training=True),
           case=batch_norm_case),
    OpSpec("layer_norm", lambda x, w, b, normalized_shape: F.layer_norm(x, normalized_shape, w, b),
           lambda x, w, b, normalized_shape: _torch().nn.functional.layer_norm(
               x, normalized_shape, w, b),
           case=layer_norm_case),
    OpSpec("layer_norm_no_affine", lambda x, normalized_shape: F.layer_norm(x, normalized_shape),
           lambda x, normalized_shape: _torch().nn.functional.layer_norm(x, normalized_shape),
           case=lambda data: layer_norm_case(data, affine=0)),
    OpSpec("rms_norm", lambda x, w, normalized_shape: F.rms_norm(x, normalized_shape, w),
           lambda x, w, normalized_shape: _torch().nn.functional.rms_norm(x, normalized_shape, w),
           case=lambda data: layer_norm_case(data, affine=1)),
    OpSpec("conv_transpose2d", F.conv_transpose2d,
           lambda x, w, b, **p: _torch().nn.functional.conv_transpose2d(x, w, b, **p),
           case=conv_transpose_case),
    OpSpec("scaled_dot_product_attention", F.scaled_dot_product_attention, torch_attention,
           case=attention_case),
    OpSpec("blocked_attention",
           lambda q, k, v, causal, block, scale: ops.attention.blocked_attention(
               q, k, v, scale, causal, block),
           torch_blocked_attention, case=blocked_attention_case),
    OpSpec("lstm_sequence", ops.recurrent.lstm_sequence, torch_lstm_sequence,
           case=lstm_sequence_case),
    OpSpec("embedding", lambda w, indices: F.embedding(indices, w),
           lambda w, indices: _torch().nn.functional.embedding(_torch().from_numpy(indices), w),
           case=embedding_case),
]  # fmt: skip
