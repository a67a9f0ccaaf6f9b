"""Each example program runs and reaches its result (small epochs where the full run is long)."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.cli import main
from tinygrad_lite.examples import (
    chain_rule,
    e1_xor,
    e2_linear_regression,
    e3_binary_classification,
    e4_sum_rule,
    e5_logistic_regression,
    e6_digits_mlp,
    e7_digits_cnn,
    e8_image_folder_cnn,
)

quiet = {"log": lambda line: None, "progress": False}


def test_chain_rule_demo_matches_the_hand_formula():
    result = chain_rule.run(**quiet)
    np.testing.assert_allclose(result["engine"], result["by_hand"], rtol=1e-12)
    assert result["gradcheck"]


def test_e1_xor_learns_and_hand_backprop_matches_the_engine():
    result = e1_xor.run(epochs=3000, **quiet)
    np.testing.assert_array_equal(result["predictions"].round(), [0, 1, 1, 0])
    rng = np.random.default_rng(0)
    x, y = (a.astype(np.float64) for a in tl.data.xor())
    weights = [rng.standard_normal(s) for s in [(2, 4), (4,), (4, 1), (1,)]]
    tensors = [tl.Tensor(w, requires_grad=True) for w in weights]
    w1, b1, w2, b2 = tensors
    out = ((tl.tensor(x) @ w1 + b1).sigmoid() @ w2 + b2).sigmoid()
    tl.nn.functional.mse_loss(out, tl.tensor(y)).backward()
    for by_hand, t in zip(e1_xor.hand_gradients(x, y, *weights), tensors):
        np.testing.assert_allclose(t.grad.numpy(), by_hand, rtol=1e-12)


def test_e2_linear_regression_recovers_the_weights():
    result = e2_linear_regression.run(**quiet)
    assert result["test_mse"] < 0.02
    np.testing.assert_allclose(result["weight"], result["true_weight"], atol=0.02)


def test_e3_test_accuracy_above_80_percent():
    assert e3_binary_classification.run(**quiet)["test_accuracy"] >= 0.8


def test_e4_accuracy_at_least_0_9():
    assert e4_sum_rule.run(**quiet)["accuracy"] >= 0.9


def test_e5_engine_gradient_is_the_corrected_formula():
    result = e5_logistic_regression.run(steps=500, **quiet)
    assert result["gradient_gap"] < 1e-12 and result["accuracy"] > 0.85


def test_e6_mlp_on_digits_at_least_95_percent():
    pytest.importorskip("sklearn")
    assert e6_digits_mlp.run(**quiet)["test_accuracy"] >= 0.95


def test_e7_cnn_on_digits_at_least_97_percent():
    pytest.importorskip("sklearn")
    assert e7_digits_cnn.run(**quiet)["test_accuracy"] >= 0.97


def test_e8_runs_on_a_tiny_image_folder(tmp_path):
    pytest.importorskip("PIL")
    e8_image_folder_cnn.write_synthetic_folder(tmp_path, per_class=8, size=16)
    result = e8_image_folder_cnn.run(folder=tmp_path, size=16, epochs=3, **quiet)
    assert len(result["losses"]) == 3 and np.isfinite(result["losses"]).all()
    assert 0 <= result["test_accuracy"] <= 1


def test_cli_list_and_demo(capsys):
    assert main(["list"]) == 0
    assert "e7" in capsys.readouterr().out
    assert main(["demo", "e2", "--epochs", "300", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "test MSE" in out and "== done in" in out
    assert "== settings: epochs=300, learning_rate=0.05, seed=0" in out  # what it runs
    with pytest.raises(SystemExit):
        main(["demo", "nope"])


def test_the_e7_demo_says_the_epochs_it_trains():
    from tinygrad_lite.cli import _describe, _settings
    from tinygrad_lite.examples import e7_digits_cnn

    assert "15 epochs" in _describe("e7") and "5 epochs," not in _describe("e7")
    assert "epochs=15" in _settings(e7_digits_cnn.run, {})
    assert "amp=bfloat16" in _settings(e7_digits_cnn.run, {"amp": "bfloat16"})


def test_demo_trains_in_mixed_precision(capsys):
    pytest.importorskip("ml_dtypes")
    assert main(["demo", "e6", "--epochs", "1", "--no-progress", "--amp", "bfloat16"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "amp=bfloat16" in out
    with pytest.raises(SystemExit):
        main(["demo", "e2", "--amp", "float16"])  # E2 has no mixed-precision mode


def test_e9_gpt_trains_and_samples():
    from tinygrad_lite.examples import e9_gpt

    result = e9_gpt.run(steps=6, batch_size=4, context=16, width=32, layers=1, heads=2,
                        eval_batches=1, sample_length=12, log=lambda _: None,
                        progress=False)  # fmt: skip
    vocabulary = len(set(e9_gpt.corpus()))
    assert result["validation_loss"] < np.log(vocabulary) + 0.5  # near uniform or better
    assert result["sample"].startswith("def ") and len(result["sample"]) == 4 + 12
    model = result["model"]
    greedy = model.generate(np.array([[1, 2, 3]]), 5, temperature=0)
    assert (greedy == model.generate(np.array([[1, 2, 3]]), 5, temperature=0)).all()
    assert len(result["curve"]["train_loss"]) == 6 and result["curve"]["step"] == []


def test_e9s_learning_curve_leaves_the_training_unchanged():
    from tinygrad_lite.examples import e9_gpt

    settings = dict(steps=5, batch_size=2, context=8, width=16, layers=1, heads=2, eval_batches=2,
                    sample_length=3, log=lambda _: None, progress=False)  # fmt: skip
    plain, watched = e9_gpt.run(**settings), e9_gpt.run(**settings, eval_every=2)
    assert watched["validation_loss"] == plain["validation_loss"]
    assert watched["curve"]["train_loss"] == plain["curve"]["train_loss"]
    assert watched["curve"]["step"] == [2, 4, 5] and len(watched["curve"]["validation_loss"]) == 3


@pytest.mark.parametrize("amp", ["bfloat16", "float16"])
def test_e9_trains_in_mixed_precision_close_to_float32(amp):
    pytest.importorskip("ml_dtypes")
    from tinygrad_lite.examples import e9_gpt

    shape = dict(steps=4, batch_size=4, context=16, width=32, layers=1, heads=2, eval_batches=1,
                 sample_length=0, log=lambda _: None, progress=False)  # fmt: skip
    plain, low = e9_gpt.run(**shape), e9_gpt.run(amp=amp, **shape)
    assert abs(low["validation_loss"] - plain["validation_loss"]) < 0.05


@pytest.mark.parametrize("temperature, top_k", [(0, None), (0.8, 5)])
def test_e9_generation_with_the_kv_cache_equals_generation_without(temperature, top_k):
    """Token for token, within the context and after the window starts to slide (40 tokens
    from a context of 16), at temperature 0 and sampling with the same seed."""
    import tinygrad_lite as tl
    from tinygrad_lite.examples.e9_gpt import GPT

    tl.manual_seed(0)
    model = GPT(20, width=32, layers=2, heads=4, context=16)
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    options = {"temperature": temperature, "top_k": top_k, "seed": 3}
    cached = model.generate(prompt, 40, kv_cache=True, **options)
    plain = model.generate(prompt, 40, kv_cache=False, **options)
    np.testing.assert_array_equal(cached, plain)
    assert len(set(cached[0, 3:].tolist())) > 3  # not one token over and over: a real check


def test_e10_lstm_learns_the_sine_wave_with_truncated_bptt():
    from tinygrad_lite.examples import e10_lstm_sine

    result = e10_lstm_sine.run(epochs=3, log=lambda _: None, progress=False)
    assert result["losses"][-1] < result["losses"][0]
    assert result["clean_error"] < 0.5  # the wave's variance is 0.5: better than its mean


def test_gpt_levers_measures_every_lever_on_a_small_gpt():
    from tinygrad_lite.examples import gpt_levers

    shape = dict(width=16, layers=2, heads=2, context=16, batch_size=2)
    result = gpt_levers.run(steps=3, teacher_steps=3, finetune_steps=2, seeds=(0, 1),
                            shape=shape, log=lambda *_: None)  # fmt: skip
    assert [r["variant"] for r in result["rows"]] == ["float32", "bfloat16", "float16"]
    linear_only, with_attention = result["int8"]["rows"]
    assert with_attention["bytes"] < linear_only["bytes"] < result["int8"]["float32_bytes"]
    curve = result["pruning"]["curve"]
    assert [p["fraction"] for p in curve] == [0.0, *gpt_levers.PRUNED_FRACTIONS]
    assert [p["channels"] for p in curve] == [64, 48, 32, 16]  # 4 · width MLP channels
    assert all(a["parameters"] > b["parameters"] for a, b in zip(curve, curve[1:]))
    for point in curve:  # shrinking removes the pruned channels without changing the function
        assert point["validation_loss"] == pytest.approx(point["finetuned_loss"], abs=1e-5)
    students = result["distillation"]["students"]
    assert [s["seed"] for s in students] == [0, 1] and all(s["alone"] != s["distilled"]
                                                          for s in students)  # fmt: skip
