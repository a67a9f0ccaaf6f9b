import numpy as np

from tinygrad_lite.__main__ import XOR_TARGETS, main, train_xor


def test_xor_demo_learns_xor():
    predictions = train_xor(steps=400)
    np.testing.assert_array_equal(predictions.round(), XOR_TARGETS)


def test_main_runs_end_to_end(capsys):
    main()
    out = capsys.readouterr().out
    assert "gradcheck (finite differences, random upstream gradient): passed" in out
    assert "[1, 1] ->" in out
