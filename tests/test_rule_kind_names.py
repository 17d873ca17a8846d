"""No code outside the registry spells a rule kind's name.

Every list of rule kinds, model choice, dispatch and label is derived from
``procurement/optimiser/kinds.py``, so adding a kind is one entry there (plus its functions
and its label's translation). This test reads every Python module of the project (tests
and migrations aside) and every template and script under an app, and fails on a string
literal equal to a kind's name: ``kind == "renewal"``, ``{"national_drug", ...}``,
``rule_set__kind="optimised_award"`` or ``{% if kind == 'renewal' %}``.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from pathlib import Path

from procurement.optimiser.kinds import KIND_NAMES

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = "procurement/optimiser/kinds.py"
SKIP_DIRS = {
    ".git",
    ".venv",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "staticfiles",
    "media",
    "test-artifacts",
    "tests",
    "migrations",
    "docs",
    "locale",
    "vendor",
}
TEXT_SUFFIXES = {".html", ".txt", ".js"}


def _project_files() -> Iterator[tuple[str, Path]]:
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            path = Path(folder) / name
            if path.suffix == ".py" or path.suffix in TEXT_SUFFIXES:
                yield path.relative_to(ROOT).as_posix(), path


def _python_hits(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in KIND_NAMES:
            yield node.lineno, node.value


_QUOTED = re.compile(r"""(["'])(""" + "|".join(map(re.escape, KIND_NAMES)) + r""")\1""")


def _text_hits(path: Path) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for match in _QUOTED.finditer(line):
            yield number, match.group(2)


def _kind_names_outside_the_registry() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for relative, path in _project_files():
        if relative == REGISTRY:
            continue
        hits = _python_hits(path) if path.suffix == ".py" else _text_hits(path)
        for line, name in hits:
            found.setdefault(relative, []).append(f"{relative}:{line}: {name!r}")
    return found


def test_no_code_outside_the_registry_names_a_rule_kind() -> None:
    found = _kind_names_outside_the_registry()
    spelled = [hit for hits in found.values() for hit in hits]
    assert spelled == [], (
        "derive these from procurement/optimiser/kinds.py (kinds_for_round_kind, "
        "kinds_taking_choices, family_of, rule_kind, or a Kind constant's .name)"
    )


def test_the_scan_sees_the_registry_and_the_templates() -> None:
    # The scan would pass vacuously if it read nothing: it must find the registry's own
    # names, and it must read the templates that label kinds.
    registry = ROOT / REGISTRY
    assert {name for _, name in _python_hits(registry)} == set(KIND_NAMES)
    files = {relative for relative, _ in _project_files()}
    assert "procurement/templates/procurement/rule_set_list.html" in files
    assert "procurement/rule_labels.py" in files
