from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from kaireon.listcounts import counted_models, list_counts_check, list_counts_rebuild


class Command(BaseCommand):
    help = (
        "Count the rows of every counted list again (PostgreSQL: after triggers were disabled, say); "
        "with --check, only report where the counters and the rows disagree (exit status 1 if any)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="report, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("This database counts every list with COUNT(*): there are no counters.")
            return
        if options["check"]:
            mismatches = list_counts_check()
            for m in mismatches:
                self.stdout.write(
                    f"{m.table} tenant {m.tenant_id} scope {m.scope or '*'} status {m.status or '*'}: "
                    f"counted {m.counted}, rows {m.actual}"
                )
            if mismatches:
                raise CommandError(f"{len(mismatches)} counters disagree with their rows.")
            self.stdout.write("Every counter agrees with its rows.")
            return
        list_counts_rebuild()
        tables = ", ".join(model._meta.db_table for model in counted_models())
        self.stdout.write(f"Counted again: {tables}.")
