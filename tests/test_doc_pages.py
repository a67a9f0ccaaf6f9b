"""Documentation pages whose code blocks are programs: each runs top to bottom, as a reader
would run it, so the pages never rot."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ["tutorial.md", "mlp_by_hand.md", "article_errors.md", "checking_your_layer.md"]


@pytest.mark.parametrize("page", PAGES)
def test_page_code_blocks_run_in_order(page, capsys):
    if page == "tutorial.md":
        pytest.importorskip("sklearn")
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)
    assert blocks, f"{page} has no python blocks"
    namespace: dict = {}
    for i, block in enumerate(blocks, 1):
        exec(compile(block, f"{page} block {i}", "exec"), namespace)
    if page == "tutorial.md":
        out = capsys.readouterr().out
        assert "MLP test accuracy" in out and "CNN test accuracy" in out
