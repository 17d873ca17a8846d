"""Keep the translation catalogs complete.

    python scripts/i18n.py update    # extract messages (makemessages) and compile (.mo)
    python scripts/i18n.py missing   # list Chinese msgids without a translation (exit 1 if any)
    python scripts/i18n.py fill FILE # merge translations from a JSON {msgid: msgstr} file

Message ids are English; the Simplified Chinese catalog must translate every one of them
(tests/test_translations.py fails otherwise). The English catalog needs no msgstr.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polib  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
ZH = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
IGNORE = [".venv/*", "static/*", "tests/*", "bench/*", "scripts/*", "staticfiles/*", "docs/*"]


def missing() -> list[polib.POEntry]:
    po = polib.pofile(str(ZH))
    return [e for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "missing"
    if command == "update":
        manage = [sys.executable, "manage.py"]
        ignores = [arg for pattern in IGNORE for arg in ("--ignore", pattern)]
        subprocess.run(
            [*manage, "makemessages", "-l", "zh_Hans", "-l", "en", "--no-obsolete", *ignores],
            cwd=ROOT,
            check=True,
        )
        subprocess.run([*manage, "compilemessages", "--ignore", ".venv"], cwd=ROOT, check=True)
        return 0
    if command == "fill":
        mapping = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        po = polib.pofile(str(ZH))
        for entry in po:
            if entry.msgid in mapping:
                if entry.msgid_plural:
                    entry.msgstr_plural = {0: mapping[entry.msgid]}
                else:
                    entry.msgstr = mapping[entry.msgid]
                if "fuzzy" in entry.flags:
                    entry.flags.remove("fuzzy")
        po.save()
        subprocess.run(
            [sys.executable, "manage.py", "compilemessages", "--ignore", ".venv"],
            cwd=ROOT,
            check=True,
        )
        return 0
    entries = missing()
    for entry in entries:
        print(json.dumps(entry.msgid, ensure_ascii=False))
    return 1 if entries else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
