"""GPU benchmarks: each fused kernel against the same computation composed from plain CuPy
expressions and against PyTorch CUDA, with its achieved bandwidth as a fraction of this device's
copy bandwidth measured in the same run; then an MLP (784-1024-1024-10, batch 4096) and a CNN
training step against PyTorch eager on the same GPU, and the MLP step under autocast float16 and
bfloat16 with a GradScaler against our float32 step and PyTorch's autocast step.

    python -m benchmarks.gpu [--quick] [--repeats N] [--json FILE]

Exits 0 with a message where CuPy or a GPU is missing. Timing: CUDA events around each call,
after a warm-up (compilation, cuBLAS handles), contenders interleaved round by round, medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

import numpy as np

from .harness import mixed_precision_step, training_step


def event_timer(cupy, torch):
    """time_ms(fn) for CuPy and PyTorch work alike: events on the legacy default stream, which
    both libraries launch on unless told otherwise."""

    def time_ms(fn) -> float:
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        if torch is not None:
            torch.cuda.current_stream().synchronize()  # NOTE: torch work is queued before `end`
        end.record()
        end.synchronize()
        return cupy.cuda.get_elapsed_time(start, end)

    return time_ms


def interleaved(contenders: dict, time_ms, repeats: int, warmup: int = 3) -> dict:
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            samples[name].append(time_ms(fn))
    return {name: statistics.median(values) for name, values in samples.items()}


def copy_bandwidth(cupy, time_ms, elements: int) -> float:
    """Bytes per second of a device-to-device copy (read + write counted)."""
    src = cupy.random.standard_normal(elements, dtype=cupy.float32)
    dst = cupy.empty_like(src)
    ms = interleaved({"copy": lambda: cupy.copyto(dst, src)}, time_ms, 20)["copy"]
    return 2 * src.nbytes / (ms / 1e3)


def kernel_cases(cupy, torch, n: int, rows: int, classes: int):
    """(name, bytes moved, {contender: fn}, check) for each fused kernel at a large size."""
    from tinygrad_lite.cuda import activation, attention, im2col, optim, reduce, softmax_xent
    from tinygrad_lite.ops.conv import Window

    rng = cupy.random.default_rng(0)
    x = rng.standard_normal(n, dtype=cupy.float32)
    gy = rng.standard_normal(n, dtype=cupy.float32)
    item = 4
    tx = torch.as_tensor(x, device="cuda") if torch else None
    tgy = torch.as_tensor(gy, device="cuda") if torch else None
    cases = []

    def add(name, bytes_moved, ours, composed, theirs=None):
        contenders = {"ours": ours, "cupy": composed}
        if torch is not None and theirs is not None:
            contenders["torch"] = theirs
        cases.append((name, bytes_moved, contenders))

    add("relu forward", 2 * n * item, lambda: activation.forward("relu", x),
        lambda: cupy.maximum(x, 0), lambda: torch.relu(tx))  # fmt: skip
    add("relu backward", 3 * n * item, lambda: activation.backward("relu", x, gy),
        lambda: gy * (x > 0), lambda: torch.ops.aten.threshold_backward(tgy, tx, 0))  # fmt: skip
    y = activation.forward("sigmoid", x)
    ty = torch.as_tensor(y, device="cuda") if torch else None
    add("sigmoid forward", 2 * n * item, lambda: activation.forward("sigmoid", x),
        lambda: 1 / (1 + cupy.exp(-x)), lambda: torch.sigmoid(tx))  # fmt: skip
    add("sigmoid backward", 3 * n * item, lambda: activation.backward("sigmoid", y, gy),
        lambda: gy * y * (1 - y), lambda: torch.ops.aten.sigmoid_backward(tgy, ty))  # fmt: skip
    add("gelu forward", 2 * n * item, lambda: activation.forward("gelu", x),
        lambda: _composed_gelu(cupy, x), lambda: torch.nn.functional.gelu(tx))  # fmt: skip
    add("gelu backward", 3 * n * item, lambda: activation.backward("gelu", x, gy),
        lambda: _composed_gelu_backward(cupy, x, gy),
        lambda: torch.ops.aten.gelu_backward(tgy, tx))  # fmt: skip

    logits = rng.standard_normal((rows, classes), dtype=cupy.float32)
    labels = cupy.asarray(np.random.default_rng(0).integers(0, classes, rows))
    target = cupy.eye(classes, dtype=cupy.float32)[labels]
    tlogits = torch.as_tensor(logits, device="cuda") if torch else None
    tlabels = torch.as_tensor(labels, device="cuda") if torch else None

    def ours_xent():
        _, lse, target_sum = softmax_xent.forward(logits, target)
        return softmax_xent.backward(logits, target, lse, target_sum,
                                           cupy.ones(rows, cupy.float32), False)  # fmt: skip

    def composed_xent():
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - cupy.log(cupy.exp(shifted).sum(axis=1, keepdims=True))
        return -(target * log_p).sum(axis=1), cupy.exp(log_p) - target

    def torch_xent():
        z = tlogits.detach().requires_grad_()
        torch.nn.functional.cross_entropy(z, tlabels, reduction="sum").backward()

    add("softmax-CE fwd+bwd", 5 * rows * classes * item, ours_xent, composed_xent, torch_xent)

    p, g, m, v = (rng.standard_normal(n, dtype=cupy.float32) for _ in range(4))
    v = cupy.abs(v)

    def composed_adam():
        m[...] = 0.9 * m + 0.1 * g
        v[...] = 0.999 * v + 0.001 * g * g
        p[...] -= 1e-3 * m / (cupy.sqrt(v) + 1e-8)

    tp = torch.as_tensor(p, device="cuda") if torch else None
    tg, tm, tv = ((torch.as_tensor(a, device="cuda") for a in (g, m, v)) if torch
                  else (None, None, None))  # fmt: skip

    def torch_adam():  # NOTE: torch's own fused Adam kernel, the fastest it has
        torch._fused_adam_([tp], [tg], [tm], [tv], [], [torch.tensor(1.0, device="cuda")],
                           lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8,
                           amsgrad=False, maximize=False)  # fmt: skip

    add("adam update", 7 * n * item,
        lambda: optim.adam_update(p, g, m, v, None, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, 1),
        composed_adam, torch_adam)  # fmt: skip

    wide = rng.standard_normal((4096, n // 4096), dtype=cupy.float32)
    twide = torch.as_tensor(wide, device="cuda") if torch else None
    add("sum_to (bias grad)", wide.nbytes, lambda: reduce.sum_to(wide, (n // 4096,)),
        lambda: wide.sum(axis=0), lambda: twide.sum(dim=0))  # fmt: skip

    image = rng.standard_normal((128, 64, 32, 32), dtype=cupy.float32)
    timage = torch.as_tensor(image, device="cuda") if torch else None
    window = Window((3, 3), (1, 1), (1, 1), (1, 1))
    cols_bytes = image.nbytes * 9 + image.nbytes
    add("im2col 3x3", cols_bytes, lambda: im2col.im2col(image, window),
        lambda: _composed_im2col(cupy, image),
        lambda: torch.nn.functional.unfold(timage, 3, padding=1))  # fmt: skip
    pool = Window((2, 2), (2, 2), (0, 0), (1, 1))
    add("max-pool forward", image.nbytes * 5 // 4 + image.nbytes // 4 * 2,
        lambda: im2col.max_pool_forward(image, pool),
        lambda: image.reshape(128, 64, 16, 2, 16, 2).max(axis=(3, 5)),
        lambda: torch.nn.functional.max_pool2d(timage, 2))  # fmt: skip

    # attention at T = 2048, d = 64, 4 heads, causal: our tiles against the (T, T) matrix in
    # CuPy and PyTorch's scaled_dot_product_attention (FlashAttention on an H100)
    heads, length, width = 4, 2048, 64
    q, k, v, g = (rng.standard_normal((heads, length, width), dtype=cupy.float32)
                  for _ in range(4))  # fmt: skip
    scale = width**-0.5

    def ours_attention():
        out, lse = attention.forward(q, k, v, scale, True)
        return attention.backward(q, k, v, out, lse, g, scale, True)

    def composed_attention():
        s = cupy.matmul(q, k.transpose(0, 2, 1)) * scale
        s = cupy.where(cupy.tri(length, dtype=bool), s, -cupy.inf)
        p = cupy.exp(s - s.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        gp = cupy.matmul(g, v.transpose(0, 2, 1))
        gs = p * (gp - (gp * p).sum(axis=-1, keepdims=True))
        return cupy.matmul(gs, k), cupy.matmul(gs.transpose(0, 2, 1), q), cupy.matmul(p, v)

    tq, tk, tv = ((torch.as_tensor(a, device="cuda") for a in (q, k, v)) if torch
                  else (None, None, None))  # fmt: skip

    def torch_attention():
        leaves = [t.detach().requires_grad_() for t in (tq, tk, tv)]
        out = torch.nn.functional.scaled_dot_product_attention(*leaves, is_causal=True)
        out.backward(torch.as_tensor(g, device="cuda"))

    add("attention fwd+bwd T=2048 d=64 causal", 8 * heads * length * width * item,
        ours_attention, composed_attention, torch_attention)  # fmt: skip
    return cases


def _composed_gelu(cupy, x):
    import cupyx.scipy.special

    return x * (1 + cupyx.scipy.special.erf(x / 2**0.5)) / 2


def _composed_gelu_backward(cupy, x, gy):
    import cupyx.scipy.special

    cdf = (1 + cupyx.scipy.special.erf(x / 2**0.5)) / 2
    return gy * (cdf + x * cupy.exp(-0.5 * x * x) / (2 * np.pi) ** 0.5)


def _composed_im2col(cupy, image):
    from cupy.lib.stride_tricks import sliding_window_view

    padded = cupy.pad(image, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = sliding_window_view(padded, (3, 3), axis=(2, 3))
    return cupy.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5))


def training_cases(torch, quick: bool):
    """{name: {contender: step}} for the MLP and CNN steps (ours and PyTorch eager)."""
    import tinygrad_lite as tl
    from tinygrad_lite import nn, optim

    batch_mlp, batch_cnn = (256, 64) if quick else (4096, 512)
    rng = np.random.default_rng(0)
    cases = {}

    def ours(model, x, labels):
        model.to("cuda")
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        x, labels = tl.Tensor(x, device="cuda"), tl.Tensor(labels, device="cuda")
        return training_step(nn.functional.cross_entropy, model, optimizer, x, labels)

    def theirs(model, x, labels):
        model = model.cuda()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        x, labels = torch.as_tensor(x, device="cuda"), torch.as_tensor(labels, device="cuda")
        return training_step(torch.nn.functional.cross_entropy, model, optimizer, x, labels)

    x = rng.standard_normal((batch_mlp, 784)).astype(np.float32)
    labels = rng.integers(0, 10, batch_mlp)
    mlp = {"ours": ours(nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024),
                                      nn.ReLU(), nn.Linear(1024, 10)), x, labels)}  # fmt: skip
    if torch is not None:
        t = torch.nn
        mlp["torch"] = theirs(t.Sequential(t.Linear(784, 1024), t.ReLU(), t.Linear(1024, 1024),
                                           t.ReLU(), t.Linear(1024, 10)), x, labels)  # fmt: skip
    cases[f"MLP 784-1024-1024-10 step, batch {batch_mlp}"] = mlp
    for low in ("float16", "bfloat16"):
        contenders = _mixed_precision_contenders(tl, torch, low, x, labels)
        if contenders:
            contenders["ours float32"] = mlp["ours"]
            cases[f"MLP 784-1024-1024-10 step, batch {batch_mlp}, autocast {low}"] = contenders

    images = rng.standard_normal((batch_cnn, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, batch_cnn)

    def cnn(m):
        return m.Sequential(m.Conv2d(1, 8, 3, padding=1), m.ReLU(), m.MaxPool2d(2),
                            m.Conv2d(8, 16, 3, padding=1), m.ReLU(), m.MaxPool2d(2),
                            m.Flatten(), m.Linear(16 * 7 * 7, 10))  # fmt: skip

    steps = {"ours": ours(cnn(nn), images, labels)}
    if torch is not None:
        steps["torch"] = theirs(cnn(torch.nn), images, labels)
    cases[f"CNN step (conv8-pool-conv16-pool-linear), batch {batch_cnn}"] = steps
    return cases


def _mixed_precision_contenders(tl, torch, low: str, x, labels) -> dict:
    """{"ours": step, "torch": step} for the MLP under autocast(low) with a GradScaler; empty
    where this CuPy cannot hold the dtype (bfloat16 before CuPy supports it)."""
    from tinygrad_lite import nn, optim

    dtype = tl.backend.bfloat16() if low == "bfloat16" else np.dtype(np.float16)
    try:
        tl.zeros(1, dtype=dtype, device="cuda")
    except Exception as error:  # noqa: BLE001 - any refusal means: not measurable here
        print(f"autocast {low}: skipped, CuPy cannot hold it ({type(error).__name__}: {error})")
        return {}
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                          nn.Linear(1024, 10)).to("cuda")  # fmt: skip
    step = mixed_precision_step(
        nn.functional.cross_entropy,
        model,
        optim.Adam(model.parameters(), lr=1e-3),
        lambda: tl.amp.autocast(device_type="cuda", dtype=dtype),
        tl.amp.GradScaler(),
        tl.Tensor(x, device="cuda"),
        tl.Tensor(labels, device="cuda"),
    )
    contenders = {"ours": step}
    if torch is not None:
        t = torch.nn
        model = t.Sequential(t.Linear(784, 1024), t.ReLU(), t.Linear(1024, 1024), t.ReLU(),
                             t.Linear(1024, 10)).cuda()  # fmt: skip
        contenders["torch"] = mixed_precision_step(
            torch.nn.functional.cross_entropy,
            model,
            torch.optim.Adam(model.parameters(), lr=1e-3),
            lambda: torch.autocast("cuda", dtype=getattr(torch, low)),
            torch.amp.GradScaler("cuda"),
            torch.as_tensor(x, device="cuda"),
            torch.as_tensor(labels, device="cuda"),
        )
    return contenders


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    import tinygrad_lite as tl

    if not tl.cuda.is_available():
        print('benchmarks.gpu: skipped, no CuPy or no GPU (pip install "tinygrad_lite[cuda13]")')
        return 0
    import cupy

    try:
        import torch

        torch = torch if torch.cuda.is_available() else None
    except ImportError:
        torch = None
    repeats = args.repeats or (5 if args.quick else 50)
    n = 1 << (20 if args.quick else 26)  # 64 Mi float32 elements: 256 MiB per array
    rows, classes = (1024, 1000) if args.quick else (65536, 1000)
    time_ms = event_timer(cupy, torch)
    peak = copy_bandwidth(cupy, time_ms, n)
    print(f"device: {tl.cuda.get_device_name()}; copy bandwidth {peak / 1e9:.0f} GB/s; "
          f"torch {'yes' if torch else 'no'}; float32; medians of {repeats}")  # fmt: skip
    results = {"device": tl.cuda.get_device_name(), "copy_GBps": peak / 1e9, "kernels": [],
               "training": []}  # fmt: skip
    header = f"{'kernel':24s} {'ours ms':>8s} {'cupy ms':>8s} {'torch ms':>8s} {'vs cupy':>8s} " \
             f"{'vs torch':>8s} {'of copy bw':>10s}"  # fmt: skip
    print(header)
    for name, bytes_moved, contenders in kernel_cases(cupy, torch, n, rows, classes):
        ms = interleaved(contenders, time_ms, repeats)
        fraction = bytes_moved / (ms["ours"] / 1e3) / peak
        speedup = ms["cupy"] / ms["ours"]
        vs_torch = ms["torch"] / ms["ours"] if "torch" in ms else float("nan")
        print(f"{name:24s} {ms['ours']:8.3f} {ms['cupy']:8.3f} {ms.get('torch', float('nan')):8.3f}"
              f" {speedup:7.2f}x {vs_torch:7.2f}x {fraction:9.0%}")  # fmt: skip
        results["kernels"].append({"kernel": name, "ms": ms, "speedup_vs_cupy": speedup,
                                   "fraction_of_copy_bw": fraction})  # fmt: skip
    print(f"\n{'training step':60s} {'ours ms':>8s} {'torch ms':>8s} {'ours/torch':>10s}")
    for name, contenders in training_cases(torch, args.quick).items():
        ms = interleaved(contenders, time_ms, max(5, repeats // 2))
        ratio = ms["ours"] / ms["torch"] if "torch" in ms else float("nan")
        print(f"{name:60s} {ms['ours']:8.2f} {ms.get('torch', float('nan')):8.2f} {ratio:9.2f}x")
        row = {"case": name, "ms": ms, "ours_over_torch": ratio}
        if "ours float32" in ms:  # the target: at least 2x faster than our float32 step
            row["speedup_over_float32"] = ms["ours float32"] / ms["ours"]
            print(f"{'':60s} our float32 step {ms['ours float32']:.2f} ms: "
                  f"{row['speedup_over_float32']:.2f}x faster in 16 bits")  # fmt: skip
        results["training"].append(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
