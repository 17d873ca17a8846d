"""Every third-party package the application imports is a runtime requirement.

``make run`` installs only requirements.txt; a package pinned only in requirements-dev.txt
works in the test suite but breaks a fresh ``make run`` (pypdf once did exactly that).
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_FOLDERS = (
    "common",
    "accounts",
    "catalog",
    "procurement",
    "tender",
    "qualification",
    "bidding",
    "awards",
    "contracts",
    "reports",
    "config",
)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==", line.strip())
        if match:
            names.add(_normalise(match.group(1)))
    return names


def _imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for folder in APP_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules.add(node.module.split(".")[0])
    local = set(APP_FOLDERS) | {"manage", "tests", "bench", "scripts"}
    return {m for m in modules if m not in sys.stdlib_module_names and m not in local}


def test_every_imported_package_is_pinned_in_requirements_txt():
    runtime = _pins(ROOT / "requirements.txt")
    distributions = packages_distributions()
    missing = {}
    for module in sorted(_imported_top_level_modules()):
        owners = {_normalise(d) for d in distributions.get(module, [])}
        assert owners, f"{module} is imported but no installed distribution provides it"
        if not owners & runtime:
            missing[module] = sorted(owners)
    assert missing == {}, f"imported by the app but not in requirements.txt: {missing}"


def test_the_check_sees_a_package_that_is_only_a_dev_requirement():
    dev_only = _pins(ROOT / "requirements-dev.txt") - _pins(ROOT / "requirements.txt")
    assert "pytest" in dev_only  # the fixture the first test relies on: dev pins are separate
    assert "pypdf" not in dev_only
