"""Draw the pictures the docs use, from the code as it is: `python docs/make_pictures.py`.

explorer.png: the backprop explorer (`tl.viz.explore`) of E1's XOR network, four steps into its
backward pass, taken by headless Chromium (needs Debian's chromium and `pip install playwright`).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

IMAGES = Path(__file__).resolve().parent / "img"


def explorer_screenshot(path: Path = IMAGES / "explorer.png", steps: int = 4) -> Path:
    from playwright.sync_api import sync_playwright

    import tinygrad_lite as tl
    from tinygrad_lite.explorer import example_loss

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory() as folder:
        page_path = tl.viz.explore(example_loss("xor"), Path(folder) / "xor.html",
                                   title="XOR (E1): backprop, step by step")  # fmt: skip
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1900, "height": 600})
            page.goto(page_path.as_uri())
            for _ in range(steps):
                page.click("#step")
            page.screenshot(path=str(path))
            browser.close()
    return path


if __name__ == "__main__":
    print(explorer_screenshot())
