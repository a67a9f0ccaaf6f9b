"""docs/tutorial.md runs top to bottom, as a reader would run it."""

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"


def test_tutorial_code_blocks_run_in_order(capsys):
    pytest.importorskip("sklearn")
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) >= 6
    namespace: dict = {}
    for i, block in enumerate(blocks, 1):
        exec(compile(block, f"{PAGE.name} block {i}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "MLP test accuracy" in out and "CNN test accuracy" in out
