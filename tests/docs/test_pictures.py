"""docs/make_pictures.py draws its pictures from the code (here into a temporary folder), and
every picture in docs/img is shown by some page."""

import importlib.util
import re
from pathlib import Path

import pytest

import tinygrad_lite as tl
from tinygrad_lite.examples import e7_digits_cnn

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("matplotlib")


def _module():
    spec = importlib.util.spec_from_file_location(
        "make_pictures", ROOT / "docs" / "make_pictures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pictures_are_drawn_from_the_code(tmp_path):
    pictures = _module()
    pictures.IMAGES = tmp_path
    made = [pictures.im2col_picture(tmp_path / "im2col.png"),
            pictures.graph_picture(tmp_path / "e1_graph.png")]  # fmt: skip
    model, batch = e7_digits_cnn.make_model(), tl.zeros(2, 1, 28, 28)
    made.append(pictures.network_diagram(model, batch, "E7", tmp_path / "cnn.png"))
    made += pictures.decision_boundaries()
    for path in made:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000


def test_every_picture_is_shown_somewhere():
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    shown = {Path(m).name for page in pages
             for m in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text())}  # fmt: skip
    pictures = {p.name for p in (ROOT / "docs" / "img").glob("*.png")}
    assert pictures <= shown, sorted(pictures - shown)
