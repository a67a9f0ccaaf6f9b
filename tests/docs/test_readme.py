"""The README's Python examples run as written, each block on its own (as a reader pastes it)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_shows_python_examples():
    assert BLOCKS


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: f"block {i + 1}")
def test_readme_python_block_runs_on_its_own(index):
    exec(compile(BLOCKS[index], f"README.md block {index + 1}", "exec"), {"__name__": "__main__"})
