"""The benchmark runner works end to end on tiny sizes (a smoke test: no timing is asserted)."""

import json
import os

import numpy as np
import pytest

from tinygrad_lite.cli import main


def test_bench_quick_run_writes_a_table_and_json(tmp_path, capfd):
    path, chart = tmp_path / "bench.json", tmp_path / "bench.png"
    assert main(["bench", "--quick", "--json", str(path), "--plot", str(chart)]) == 0
    captured = capfd.readouterr()  # the runner is a child process: capture file descriptors
    out = captured.out
    assert "--quick runs tiny sizes with 2 repeats, a smoke test" in captured.err
    assert "environment:" in out and "mlp step, batch 8" in out and "ours/numpy" in out
    assert "cnn step, batch 4" in out and "mlp vs peers, batch 8" in out
    assert "CSR linear 90% zeros" in out and "E7 50% channels shrunk" in out
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads(path.read_text())
    assert report["environment"]["allocator"].startswith(("mallopt", "default"))
    threads = report["environment"]["blas_threads"]  # as loaded, not only as requested
    assert threads.startswith("unknown") or threads.endswith(f" {os.cpu_count() or 1}")
    cases = {r["case"]: r for r in report["results"]}
    assert {"tinygrad_lite", "numpy"} <= set(cases["mlp step, batch 8"]["median_ms"])
    assert all(v > 0 for r in report["results"] for v in r["median_ms"].values())


def test_hand_numpy_mlp_computes_the_same_training_as_tinygrad_lite():
    """The hand-written floor does the same work: same weights in, same losses out, step by step."""
    import numpy as np

    import tinygrad_lite as tl
    from benchmarks import mlp
    from tinygrad_lite import nn, optim

    hand = mlp.HandMLP(16)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))  # fmt: skip
    names = ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    model.load_state_dict(
        {n: p.T.copy() if p.ndim == 2 else p.copy() for n, p in zip(names, hand.params)}
    )
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    x, labels = tl.Tensor(hand.x), hand.one_hot.argmax(axis=1)
    for _ in range(4):
        loss = nn.functional.cross_entropy(model(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        np.testing.assert_allclose(loss.item(), hand.step(), rtol=1e-5)


def test_gpu_benchmark_skips_cleanly_without_a_gpu(capsys):
    import tinygrad_lite as tl
    from benchmarks import gpu

    if tl.cuda.is_available():
        pytest.skip("a GPU is present: run python -m benchmarks.gpu")
    assert gpu.main([]) == 0
    assert "skipped" in capsys.readouterr().out


def test_hand_numpy_cnn_computes_the_same_training_as_tinygrad_lite_and_torch():
    """The im2col floor, our CNN and PyTorch's start from the same weights and give the same
    losses step after step (so the CNN benchmark compares the same work)."""
    import numpy as np

    from benchmarks import cnn

    ours, hand = cnn.tinygrad_step(6), cnn.HandCNN(6).step
    try:
        theirs = cnn.torch_step(6, 1)
    except ImportError:
        theirs = None
    for _ in range(3):
        loss = ours().item()
        np.testing.assert_allclose(hand(), loss, rtol=1e-5)
        if theirs is not None:
            np.testing.assert_allclose(theirs().item(), loss, rtol=1e-5)


def test_peer_engines_train_the_same_mlp_when_installed():
    import numpy as np

    from benchmarks import mlp, peers

    steps = peers.contenders(8)
    if not steps:
        pytest.skip("no peer engine installed (pip install dezero mygrad autograd)")
    first = mlp.HandMLP(8).step()
    for name, step in steps.items():
        loss = step()
        if loss is not None:
            np.testing.assert_allclose(loss, first, rtol=1e-5, err_msg=name)


def test_hand_numpy_conv_and_pool_contenders_compute_our_gradients():
    import numpy as np

    from benchmarks import ops

    runs = ops.conv2d(16)
    (gx, gw), (hand_gx, hand_rows) = runs["tinygrad_lite"](), runs["numpy"]()
    np.testing.assert_allclose(hand_gx, gx, rtol=1e-4, atol=1e-4)
    hand_gw = hand_rows.reshape(3, 3, 8, 16).transpose(3, 2, 0, 1)  # back to (O, C, KH, KW)
    np.testing.assert_allclose(hand_gw, gw, rtol=1e-4, atol=1e-3)
    runs = ops.max_pool2d(16)
    np.testing.assert_array_equal(runs["numpy"](), runs["tinygrad_lite"]())


def test_compress_contenders_compute_the_same_results():
    import numpy as np

    from benchmarks import compress

    pytest.importorskip("scipy")
    for contenders in compress.cases(quick=True).values():
        results = [np.asarray(getattr(r, "numpy", lambda r=r: r)()) for r in
                   (run() for run in contenders.values())]  # fmt: skip
        for other in results[1:]:
            np.testing.assert_allclose(results[0], other, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", ["xor step (E1)", "sum-rule step (E4)",
                                  "logistic regression step (E5)"])  # fmt: skip
def test_hand_tiny_steps_compute_the_same_training_as_tinygrad_lite_and_torch(case):
    import numpy as np

    from benchmarks import tiny

    try:
        import torch
    except ImportError:
        torch = None
    steps = tiny.contenders(case, torch)
    for _ in range(5):
        losses = {name: float(np.asarray(getattr(loss, "item", lambda loss=loss: loss)()))
                  for name, loss in ((n, run()) for n, run in steps.items())}  # fmt: skip
        for name, value in losses.items():
            np.testing.assert_allclose(value, losses["tinygrad_lite"], rtol=1e-5, err_msg=name)


def test_compare_interleaves_and_rotates_who_runs_first():
    from benchmarks.harness import compare

    calls = []
    contenders = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    result = compare("case", contenders, repeats=3, warmup=0, inner=1)
    assert "".join(calls) == "abcbcacab"
    assert all(len(samples) == 3 for samples in result.seconds.values())


def test_the_raw_ops_xor_step_trains_as_by_hand_and_in_torch():
    import numpy as np

    import tinygrad_lite as tl
    from benchmarks import tiny

    try:
        import torch
    except ImportError:
        torch = None
    steps = tiny.raw_xor_contenders(torch)
    for _ in range(5):
        losses = {n: float(np.asarray(getattr(v, "item", lambda v=v: v)()))
                  for n, v in ((n, run()) for n, run in steps.items())}  # fmt: skip
        for name, value in losses.items():
            np.testing.assert_allclose(value, losses["tinygrad_lite"], rtol=1e-5, err_msg=name)
    assert isinstance(steps["tinygrad_lite"](), tl.Tensor)


def test_the_chart_plots_the_tables_ratio(tmp_path, monkeypatch):
    """One convention: the table prints ours/contender, and the chart draws the same number."""
    pytest.importorskip("matplotlib")
    import matplotlib.axes

    from benchmarks import harness

    drawn = []
    original = matplotlib.axes.Axes.barh
    monkeypatch.setattr(matplotlib.axes.Axes, "barh",
                        lambda self, y, width, *a, **k: drawn.append(width) or original(
                            self, y, width, *a, **k))  # fmt: skip
    result = harness.Result("xor step (E1)", {"tinygrad_lite": [2e-3], "numpy": [1e-3],
                                              "torch": [4e-3]})  # fmt: skip
    harness.bar_chart([result], str(tmp_path / "c.png"))
    assert drawn == [2.0, 0.5] and "ours/numpy = 2.00×" in harness.table([result])


def test_the_gpt_contenders_train_the_same_shape():
    from benchmarks import gpt

    try:
        import torch
    except ImportError:
        torch = None
    steps = gpt.contenders(torch)
    first = {name: float(np.asarray(getattr(v, "item", lambda v=v: v)()))
             for name, v in ((n, run()) for n, run in steps.items())}  # fmt: skip
    for value in first.values():  # both start near log(vocabulary): a fresh model's loss
        assert abs(value - np.log(gpt.VOCABULARY)) < 0.5


def test_the_lstm_contenders_run_a_training_step():
    from benchmarks import gpt

    try:
        import torch
    except ImportError:
        torch = None
    for name, run in gpt.lstm_contenders(torch).items():
        assert np.isfinite(float(np.asarray(getattr(run(), "item", lambda: 0.0)()))), name


def test_memory_and_time_reports_each_variants_peak_and_median():
    import numpy as np

    from benchmarks import harness

    found = harness.memory_and_time({"small": lambda: np.ones(1_000), "large": lambda: np.ones(
        2_000_000)}, repeats=2)  # fmt: skip
    (small_peak, small_s), (large_peak, large_s) = found["small"], found["large"]
    assert small_peak < 1 and 15 < large_peak < 16 * 1.2 and small_s >= 0 and large_s > 0
