"""`tinygrad-lite demo compress` end to end on a short schedule: every variant is measured, the
compressed checkpoints are smaller, and compression keeps the model useful. (The full run's
numbers are in the README; timings are never asserted in tests.)"""

import pytest

from tinygrad_lite.examples import compress

pytest.importorskip("sklearn")
pytest.importorskip("scipy")


def test_the_compress_demo_measures_every_variant(tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "compression.png"
    rows = compress.run(epochs=3, fine_tune_epochs=1, student_epochs=2, progress=False,
                        log=lambda _: None, plot=str(plot), timing_repeats=1)["rows"]  # fmt: skip
    by_name = {row["variant"].split(",")[0].split(" (")[0]: row for row in rows}
    base = by_name["float32"]
    assert len(rows) == 10 and plot.stat().st_size > 0
    assert base["accuracy"] > 0.8
    for name in ("int8 dynamic quantization", "int8 static quantization"):
        assert by_name[name]["bytes"] <= 0.3 * base["bytes"]  # int8 weights: 0.25, plus scales
        assert by_name[name]["accuracy"] >= base["accuracy"] - 0.02
    assert by_name["50% channels pruned"]["weights"] < 0.3 * base["weights"]
    assert by_name["90% global magnitude pruning"]["weights"] < 0.15 * base["weights"]
    assert all(0 <= row["accuracy"] <= 1 and row["ms"] > 0 for row in rows)
