"""The house rule, read from the source: arrows point inward (entrypoints -> adapters -> domain),
and exactly one module, the composition root, imports both domain and adapters
(/work/shared/ARCHITECTURE.md). Every import counts: at the top, inside a function, or under
TYPE_CHECKING, and `importlib.import_module("adapters...")` too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSITION_ROOT = "entrypoints/containers.py"


def imported_packages(source: str) -> set[str]:
    """The top-level packages a module's source imports (absolute imports; the packages are
    top-level, so a relative import never reaches another one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value.partition(".")[0])
    return found


def _is_dynamic_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in {"import_module", "__import__"}


def importers(package: str, of: str) -> set[str]:
    """The modules under `package` (paths from the repository root) that import `of`."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / package).rglob("*.py"))
        if of in imported_packages(path.read_text(encoding="utf-8"))
    }


def test_only_the_composition_root_imports_adapters_among_the_entrypoints() -> None:
    assert importers("entrypoints", "adapters") == {COMPOSITION_ROOT}


@pytest.mark.parametrize(
    ("package", "forbidden"), [("adapters", "entrypoints"), ("domain", "adapters"), ("domain", "entrypoints")]
)
def test_arrows_point_inward(package: str, forbidden: str) -> None:
    assert importers(package, forbidden) == set()


@pytest.mark.parametrize(
    "source",
    [
        "import adapters.aws.prices",
        "from adapters.shared.rates_file import load_rates",
        "def f():\n    from adapters.aws import run_plan",
        "if TYPE_CHECKING:\n    from adapters.aws.run_plan import CostPlan",
        "importlib.import_module('adapters.aws.state_machine')",
    ],
)
def test_every_kind_of_import_is_seen(source: str) -> None:
    assert "adapters" in imported_packages(source)
