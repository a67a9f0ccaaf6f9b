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
