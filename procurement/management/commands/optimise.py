"""``python manage.py optimise PROBLEM.json --out RESULT.json``: the optimiser's CLI.

A thin wrapper: it reads and writes files only and never touches the database, so it
works on a machine with no database configured.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from procurement.optimiser.cli import run


class Command(BaseCommand):
    help = "Evaluate bids and allocate volume from a problem JSON file (docs/optimiser.md)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("problem", help="problem JSON file (format jicai.optimiser.problem/1)")
        parser.add_argument("--out", help="write the result JSON here instead of standard output")
        parser.add_argument(
            "--no-timing",
            action="store_true",
            help="leave out the timing section, so equal inputs give byte-identical files",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        status = run(
            options["problem"], options["out"], timing=not options["no_timing"], stderr=self.stderr
        )
        if status != 0:
            raise CommandError("the problem file is not valid (errors above)", returncode=status)
