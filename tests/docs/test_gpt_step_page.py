"""docs/gpt_step.md: its code prints its trace (every line's words exactly, the numbers to the
4 digits shown, rounding-level ones near 0), and its walk-through explains every op in it."""

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np

PAGE = Path(__file__).resolve().parents[2] / "docs" / "gpt_step.md"
NUMBER = r"-?\d+\.?\d*(?:e[-+]?\d+)?"


def _block(kind: str) -> str:
    (block,) = re.findall(rf"```{kind}\n(.*?)```", PAGE.read_text(), flags=re.S)
    return block


def _printed() -> str:
    printed = io.StringIO()
    with redirect_stdout(printed):
        exec(_block("python"), {"__name__": "__main__"})
    return printed.getvalue()


def _words_and_numbers(text: str):
    text = re.sub(r"#\d+", "#", text)  # tape positions depend on what ran before
    numbers = [float(n) for n in re.findall(rf"(?<![\w(,]){NUMBER}", text)]
    return re.sub(rf"(?<![\w(,]){NUMBER}", "N", text).split(), numbers


def test_the_page_trace_is_what_the_engine_prints():
    got_words, got_numbers = _words_and_numbers(_printed())
    want_words, want_numbers = _words_and_numbers(_block("text"))
    assert got_words == want_words
    np.testing.assert_allclose(got_numbers, want_numbers, rtol=2e-3, atol=1e-12)


def test_every_op_in_the_trace_is_explained():
    ops = set(re.findall(r"= (\w+)\(", _block("text")))
    explained = set(re.findall(r"\*\*(\w+)\*\*", PAGE.read_text()))
    assert ops and ops <= explained, sorted(ops - explained)


def test_the_key_bias_gets_no_gradient_as_the_page_says():
    namespace = {"__name__": "__main__"}
    with redirect_stdout(io.StringIO()):
        exec(_block("python"), namespace)
    attention = namespace["model"].blocks[0].attn
    gradient = attention.in_proj_bias.grad.numpy()
    np.testing.assert_allclose(gradient[4:8], 0, atol=1e-15)  # the keys' third
    assert np.abs(gradient[:4]).max() > 1e-4 and np.abs(gradient[8:]).max() > 1e-4
