"""The backprop explorer: the page's data equal the engine's backward step for step, the file
is self-contained, and (where Chromium and Playwright are installed: .ci/run installs both) a
real headless browser clicks through every step and shows the engine's gradients, with no
console error and no network request."""

import json
import re
import shutil
import sys

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.cli import main
from tinygrad_lite.explorer import EXAMPLES, example_loss, markdown_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _data(path) -> dict:
    (payload,) = re.findall(r'<script id="data" type="application/json">(.*?)</script>',
                            path.read_text(), flags=re.S)  # fmt: skip
    return json.loads(payload)


def _parameters(loss) -> dict:
    """Named leaves that require grad, found from the loss, before its backward."""
    found, stack, seen = {}, [loss], set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.creator is None:
            if t.requires_grad:
                found[t.name] = t
        else:
            stack.extend(t.creator.inputs)
    return found


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_pages_gradients_are_the_engines(name, tmp_path):
    loss = example_loss(name)
    parameters = _parameters(loss)
    data = _data(tl.viz.explore(loss, tmp_path / "page.html"))
    ids = {t["label"]: t["id"] for t in data["tensors"]}
    final = {}
    for step in data["steps"]:  # what the page shows after the last step
        final.update(step["arrived"])
    assert len(data["steps"]) == len(data["ops"])  # every op's backward ran once
    for label, parameter in parameters.items():
        shown = final[ids[label]]
        if "values" in shown:
            np.testing.assert_allclose(shown["values"], parameter.grad.numpy().reshape(-1),
                                       rtol=1e-12, atol=1e-12)  # fmt: skip
        else:
            assert shown["min"] == pytest.approx(float(parameter.grad.numpy().min()))
    text = (tmp_path / "page.html").read_text()
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", text)  # nothing fetched from anywhere


def test_each_step_shows_the_ops_rule_and_derivation(tmp_path):
    data = _data(tl.viz.explore(example_loss("xor"), tmp_path / "page.html"))
    ops = {o["op"]: o for o in data["ops"]}
    assert ops["Tanh"]["rule"].startswith("gx = gy * (1 - y**2)")
    assert "## tanh (`Tanh`)" in ops["Tanh"]["derivation"]
    assert "Affine" in ops["Affine"]["derivation"]


def test_derivations_become_html_with_mathml_formulas():
    pytest.importorskip("latex2mathml")
    page = markdown_html(
        "## tanh (`Tanh`)\nDefinition: $y = \\tanh x$, a < b.\n- one *a*\n- two `x * y`\n\n"
        "$$\\frac{\\partial L}{\\partial x} = g$$\n\n| a | b |\n|---|---|\n| 1 | $c$ |"
    )
    assert page.startswith("<h4>tanh (<code>Tanh</code>)</h4>\n<p>Definition: <math")
    assert "a &lt; b." in page
    assert "<ul><li>one <i>a</i></li><li>two <code>x * y</code></li></ul>" in page
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mrow><mfrac>' in page
    assert "<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td><math" in page
    assert "$" not in page and "\\" not in page  # every formula converted


def test_without_latex2mathml_the_formula_source_is_shown(monkeypatch):
    monkeypatch.setitem(sys.modules, "latex2mathml.converter", None)  # import fails
    assert markdown_html("so $a_1 < b$") == "<p>so <code class='tex'>a_1 &lt; b</code></p>"


def test_explore_refuses_what_it_cannot_show(tmp_path):
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="scalar loss"):
        tl.viz.explore(x * 2, tmp_path / "p.html")
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(ValueError, match="backward already ran"):
        tl.viz.explore(loss, tmp_path / "p.html")
    assert not (tmp_path / "p.html").exists()


def test_the_command_writes_the_page(tmp_path, capsys):
    assert main(["explore", "e5", "--output", str(tmp_path / "e5.html")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "e5.html").exists()


def _browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium (Debian: apt-get install chromium; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    return sync_api


@pytest.mark.parametrize("name", ["xor", "e5", "lstm", "attention"])
def test_a_real_browser_steps_through_the_whole_backward(name, tmp_path):
    sync_api = _browser()
    loss = example_loss(name)
    parameters = _parameters(loss)
    path = tl.viz.explore(loss, tmp_path / "page.html")
    data = _data(path)
    ids = {t["label"]: t["id"] for t in data["tensors"]}
    errors, requests = [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1900, "height": 700})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        for _ in data["steps"]:
            page.click("#step")
        assert page.inner_text("#progress") == f"step {len(data['steps'])} of {len(data['steps'])}"
        for label, parameter in parameters.items():
            gradient = parameter.grad.numpy().reshape(-1)
            element = page.locator(f"#grad-{ids[label]}")
            if gradient.size <= 8:
                shown = [float(v) for v in element.get_attribute("data-shown").split()]
                np.testing.assert_allclose(shown, gradient, rtol=1e-5, atol=1e-7)
            else:
                text = element.text_content()
                assert text.startswith("grad min ") and f"{gradient.min():.4g}"[:5] in text
        rendered = page.evaluate("""() => [...document.querySelectorAll('#details math')]
            .map(m => [getComputedStyle(m).display, m.getBoundingClientRect().width])""")
        assert rendered  # the last step's op has formulas in its derivation, drawn natively:
        assert all(display.endswith("math") and width > 0 for display, width in rendered)
        page.click("#reset")
        assert page.inner_text("#progress") == f"step 0 of {len(data['steps'])}"
        page.screenshot(path=str(tmp_path / "explorer.png"))
        browser.close()
    assert errors == []
    assert all(url.startswith("file://") for url in requests), requests
    assert (tmp_path / "explorer.png").stat().st_size > 10_000
