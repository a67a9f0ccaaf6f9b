"""Docs and code stay in sync: each op's Function has a `Backward:` docstring line and a section
`## name (`Class`)` on its module's derivation page, and each section names a real Function."""

import re
from pathlib import Path

import pytest

from ..op_modules import OP_MODULES as MODULES
from ..op_modules import functions_of

DERIVATIONS = Path(__file__).resolve().parents[2] / "docs" / "derivations"


def documented_classes(module) -> list[str]:
    page = DERIVATIONS / f"{module.__name__.rsplit('.', 1)[1]}.md"
    return re.findall(r"^## .*\(`(\w+)`\)\s*$", page.read_text(), flags=re.M)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_function_has_a_backward_line_and_a_derivation(module):
    documented = documented_classes(module)
    for name, cls in functions_of(module).items():
        assert "Backward:" in (cls.__doc__ or ""), f"{name} has no 'Backward:' docstring line"
        assert name in documented, f"{name} has no '## ... (`{name}`)' section"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_derivation_names_an_existing_function(module):
    unknown = set(documented_classes(module)) - set(functions_of(module))
    assert not unknown, f"sections for unknown Functions: {sorted(unknown)}"


def test_module_docstrings_link_to_existing_pages():
    for module in MODULES:
        (link,) = re.findall(r"docs/derivations/\w+\.md", module.__doc__)
        assert (DERIVATIONS.parents[1] / link).exists(), link


def _names_in_headings() -> set[str]:
    headings = [
        line for page in DERIVATIONS.glob("*.md") for line in page.read_text().splitlines()
        if line.startswith("## ")
    ]  # fmt: skip
    return {name for line in headings for name in re.findall(r"`(\w+)`", line)}


def test_every_layer_loss_module_and_optimizer_has_a_derivation_section():
    import inspect

    from tinygrad_lite import nn, optim

    public = [
        name for module in (nn, optim) for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, (nn.Module, optim.Optimizer, optim.LRScheduler))
        and obj not in (nn.Module, optim.Optimizer, optim.LRScheduler)
    ]  # fmt: skip
    missing = set(public) - _names_in_headings()
    assert not missing, f"no '## ... (`Name`)' derivation section for {sorted(missing)}"


PAGES = sorted((DERIVATIONS.parent).rglob("*.md"))


def _formulas(page: Path) -> list[tuple[str, str]]:
    """(kind, LaTeX) of every `$$…$$` and `$…$` outside code, as GitHub reads them."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    formula = re.compile(r"\$\$(.+?)\$\$|\$((?:[^$\n]|\n(?!\s*\n))+?)\$", flags=re.S)
    return [("display", m[1]) if m[1] else ("inline", m[2]) for m in formula.finditer(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DERIVATIONS.parent).as_posix())
def test_every_formula_renders(page):
    """Each formula converts to MathML with no unknown command left over (what the explorer shows,
    and a proxy for GitHub's renderer), and inline ones follow GitHub's rule: no space just
    inside the dollars, else the page shows them as text."""
    convert = pytest.importorskip("latex2mathml.converter").convert
    for kind, latex in _formulas(page):
        mathml = convert(latex)
        assert "merror" not in mathml and "\\" not in mathml, (page.name, latex)
        if kind == "inline":
            assert latex == latex.strip(), (page.name, latex)


def test_the_derivation_pages_are_written_in_latex():
    """The notation the pages used before LaTeX (gᵀ, ∂L/∂x, Σ in running text) stays gone."""
    for page in DERIVATIONS.glob("*.md"):
        prose = re.sub(r"`[^`\n]*`|\$\$.+?\$\$|\$[^$]+?\$", "", page.read_text(), flags=re.S)
        assert not re.findall(r"[ᵀ∂Σ√ᵢⱼₖ]", prose), page.name
