"""Mutation testing of the pure cores, each module against its own tests (``make mutation``).

    python scripts/mutation.py                 # every module in MODULES, then the table
    python scripts/mutation.py rules allocation  # only the modules whose path contains a word
    python scripts/mutation.py --resume rules  # keep the last run, re-test only its survivors
    python scripts/mutation.py --report        # the table of the last runs, nothing re-run
    python scripts/mutation.py --survivors     # ... and the diff of every surviving mutant

mutmut 3 (requirements-dev.txt) copies the project into a ``mutants/`` folder, rewrites
the mutated module so each function can be switched to one of its mutants, records which
tests reach which function, then runs, for every mutant, only the tests that reach it.
mutmut reads its settings from ``pyproject.toml`` in the folder it runs in, so each module
gets a working folder of its own, ``test-artifacts/mutation/<module>/``: a
``pyproject.toml`` (the project's plus a ``[tool.mutmut]`` section naming the module and
its tests) and a symbolic link to every other top-level entry of the project. pytest then
runs inside ``mutants/`` with the project's own settings (pytest-django,
``tests/conftest.py``); tests that need PostgreSQL, a browser or ``../shared/data`` are
not selected.

A mutant is *killed* when a test fails (or it times out: an endless loop is caught too);
it *survives* when every test passes; *no tests* means no selected test reaches its
function (it counts as surviving). Mutants listed in ``EQUIVALENTS``
(``scripts/mutation_equivalents.toml``) cannot change behaviour; each entry names the
mutant, the mutated line and why. They are left out of the score and counted in the
table; an entry whose line no longer matches its mutant (the function changed and the
mutants were renumbered) is reported as stale and not applied.

score = killed / (mutants - equivalent)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "test-artifacts" / "mutation"
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.toml"

# The pure cores and their own tests: one line per module.
MODULES: dict[str, tuple[str, ...]] = {
    "catalog/comparable_price.py": (
        "tests/catalog/test_comparable_price*.py",
        "tests/catalog/test_representative_ceiling.py",
    ),
    "procurement/optimiser/rules.py": ("tests/optimiser",),
    "procurement/optimiser/allocation.py": ("tests/optimiser",),
    "procurement/optimiser/optimised.py": ("tests/optimiser",),
    "procurement/optimiser/award_model.py": ("tests/optimiser",),
    "procurement/optimiser/backends.py": ("tests/optimiser",),
    "bidding/sealing.py": ("tests/bidding/test_sealing.py", "tests/bidding/test_stored_vectors.py"),
    "bidding/custody.py": (
        "tests/bidding/test_custody.py",
        "tests/bidding/test_sealing.py",
        "tests/bidding/test_stored_vectors.py",
    ),
    "bidding/bidlog.py": ("tests/bidding/test_bidlog.py",),
    "contracts/progress.py": ("tests/contracts/test_progress.py",),
    "common/money.py": ("tests/common/test_money.py",),
}

# Never selected: they need services or data a mutation run does not have, and the
# reference-data replays check the rules against published results, not one module.
PYTEST_ARGS = [
    "-p",
    "no:cacheprovider",
    "-m",
    "not integration and not browser and not reference_data",
]
MIN_SCORE = 90.0

KILLED = {1, 3, 24, -24, 152, 255, 36, -9, -11}  # failed, pytest error, timeout, killed
SURVIVED = {0, 5, 33}  # passed, no test reached it (5: pytest ran none, 33: mutmut found none)
SKIPPED = {34}


@dataclass
class Outcome:
    module: str
    mutants: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    seconds: float | None = None

    @property
    def counted(self) -> int:
        return self.mutants - self.equivalent

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.counted if self.counted else 100.0


def slug(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def workdir(module: str) -> Path:
    return WORK / slug(module)


def _top_level_entries() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return sorted({line.split("/", 1)[0] for line in listed if (ROOT / line).exists()})


def prepare(module: str) -> Path:
    """The module's working folder: links to the project and a pyproject.toml of its own."""
    folder = workdir(module)
    folder.mkdir(parents=True, exist_ok=True)
    entries = [e for e in _top_level_entries() if e != "pyproject.toml" and not e.startswith(".")]
    packages = [e for e in entries if (ROOT / e).is_dir() and e != "tests"]
    files = [e for e in entries if (ROOT / e).is_file()]
    for entry in entries:
        link = folder / entry
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(ROOT / entry)
    tests = sorted({str(p.relative_to(ROOT)) for t in MODULES[module] for p in ROOT.glob(t)})
    if not tests:
        raise SystemExit(f"{module}: no tests match {MODULES[module]}")
    section = {
        # Every package is copied into mutants/ (Django imports all apps); one is mutated.
        "source_paths": packages,
        "only_mutate": [module],
        "also_copy": files,
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": PYTEST_ARGS,
        "timeout_multiplier": 5.0,
        "use_git_change_detection": False,
    }
    lines = ["", "[tool.mutmut]"] + [f"{key} = {json.dumps(v)}" for key, v in section.items()]
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8") + "\n".join(lines) + "\n"
    (folder / "pyproject.toml").write_text(text, encoding="utf-8")
    return folder


def _meta(module: str) -> dict[str, int | None]:
    path = workdir(module) / "mutants" / f"{module}.meta"
    if not path.exists():
        return {}
    data: dict[str, int | None] = json.loads(path.read_text(encoding="utf-8"))["exit_code_by_key"]
    return data


def run(module: str, *, jobs: int, resume: bool) -> float:
    folder = prepare(module)
    mutants = folder / "mutants"
    names: list[str] = []
    if resume and mutants.exists():
        names = [k for k, code in _meta(module).items() if code is None or code in SURVIVED]
        if not names:
            return 0.0
    else:
        shutil.rmtree(mutants, ignore_errors=True)
    log = folder / "mutmut.log"
    mutmut = Path(sys.executable).parent / "mutmut"
    command = [str(mutmut), "run", "--max-children", str(jobs), *names]
    print(f"{module}: mutmut run in {folder.relative_to(ROOT)} (log: mutmut.log)", flush=True)
    started = time.monotonic()
    with log.open("wb") as out:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(command, cwd=folder, stdout=out, stderr=subprocess.STDOUT, env=env)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").replace("\r", "\n")
        print("\n".join(tail.splitlines()[-30:]), file=sys.stderr)
        raise SystemExit(f"{module}: mutmut exited with {done.returncode}")
    return seconds


def _diff(module: str, name: str) -> str:
    """The mutant's diff, from mutmut's own files (run inside the module's folder)."""
    from mutmut.configuration import reset_config
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    previous = Path.cwd()
    os.chdir(workdir(module))
    try:
        reset_config()
        return get_diff_for_mutant(name, path=module)
    finally:
        os.chdir(previous)
        reset_config()


def _added(diff: str) -> list[str]:
    return [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]


def equivalents() -> dict[str, dict[str, str]]:
    data = tomllib.loads(EQUIVALENTS.read_text(encoding="utf-8"))
    return {entry["mutant"]: entry for entry in data.get("equivalent", [])}


def tally(module: str, known: dict[str, dict[str, str]]) -> Outcome:
    outcome = Outcome(module)
    for name, code in sorted(_meta(module).items()):
        if code in SKIPPED:
            continue
        outcome.mutants += 1
        entry = known.get(name)
        if entry is not None:
            if any(entry["line"] in line for line in _added(_diff(module, name))):
                outcome.equivalent += 1
                continue
            outcome.stale.append(name)
        if code is None:
            outcome.unchecked.append(name)
        elif code in SURVIVED:
            outcome.survivors.append(name)
        elif code in KILLED:
            outcome.killed += 1
        else:  # "suspicious": an exit code that is neither a pass nor a failure
            outcome.survivors.append(name)
    return outcome


def _function(name: str) -> str:
    """The function part of a mutant's name: ``a.b.x_f__mutmut_3`` -> ``x_f``."""
    return name.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]


def suggest(outcome: Outcome, known: dict[str, dict[str, str]]) -> list[str]:
    """Listed equivalents that may be a survivor under a new name: same function name
    (any module: functions move between files) and the same mutated line. Printed as
    TOML for review, never applied: the reason must still hold where the code now is."""
    out = []
    for name in outcome.survivors:
        added = _added(_diff(outcome.module, name))
        for old, entry in known.items():
            if old == name or _function(old) != _function(name):
                continue
            if any(entry["line"] in line for line in added):
                out.append(
                    f"# was {old}\n[[equivalent]]\nmutant = {json.dumps(name)}\n"
                    f"line = {json.dumps(entry['line'])}\nreason = {json.dumps(entry['reason'])}\n"
                )
                break
    return out


def table(outcomes: list[Outcome]) -> str:
    rows = [
        "| module | mutants | equivalent | killed | score |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        rows.append(
            f"| `{o.module}` | {o.mutants:,} | {o.equivalent} | {o.killed:,} | {o.score:.1f}% |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("only", nargs="*", help="run only the modules whose path contains one")
    parser.add_argument("--report", action="store_true", help="tabulate the last runs only")
    parser.add_argument("--resume", action="store_true", help="re-test the last run's survivors")
    parser.add_argument("--survivors", action="store_true", help="print each survivor's diff")
    parser.add_argument(
        "--suggest",
        action="store_true",
        help="print listed equivalents that match a survivor renamed or moved (for review)",
    )
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATION_JOBS", "1")))
    parser.add_argument("--min-score", type=float, default=MIN_SCORE)
    args = parser.parse_args(argv)
    modules = [m for m in MODULES if not args.only or any(word in m for word in args.only)]
    if not modules:
        parser.error(f"no module matches {args.only}; modules: {', '.join(MODULES)}")
    known = equivalents()
    seconds: dict[str, float] = {}
    if not args.report:
        for module in modules:
            seconds[module] = run(module, jobs=args.jobs, resume=args.resume)
    outcomes = []
    for module in modules:
        outcome = tally(module, known)
        outcome.seconds = seconds.get(module)
        outcomes.append(outcome)
    print()
    print(table(outcomes))
    print()
    excluded = sum(o.equivalent for o in outcomes)
    print(f"{excluded} equivalent mutants excluded (reasons: {EQUIVALENTS.relative_to(ROOT)})")
    for o in outcomes:
        took = f" in {o.seconds:.0f} s" if o.seconds is not None else ""
        print(f"{o.module}{took}: {len(o.survivors)} surviving", end="")
        print(f", {len(o.unchecked)} not checked" if o.unchecked else "", end="")
        print(f", {len(o.stale)} stale exclusions" if o.stale else "")
        for name in o.stale:
            print(f"  stale exclusion (its line no longer matches): {name}")
        for name in o.survivors + o.unchecked:
            if args.survivors:
                print(f"\n# {name}\n{_diff(o.module, name)}")
            else:
                print(f"  {name}: {' / '.join(_added(_diff(o.module, name)))[:140]}")
    if args.suggest:
        for o in outcomes:
            print("\n".join(suggest(o, known)))
    failing = [o for o in outcomes if o.score < args.min_score or o.unchecked or not o.mutants]
    if failing:
        print(f"\nbelow {args.min_score:g}% or incomplete: {', '.join(o.module for o in failing)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
