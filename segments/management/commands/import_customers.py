"""``manage.py import_customers FILE --tenant SLUG [--format csv|json]``: the import service, in this process."""

from __future__ import annotations

import os
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kaireon.models import Tenant
from segments import services
from segments.models import CustomerImport, ImportStatus

ERRORS_SHOWN = 20


class Command(BaseCommand):
    help = "Import customers from a CSV or JSON file into a tenant (upsert by externalId)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV with a header row, a JSON array of objects, or JSON Lines")
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("--format", choices=["csv", "json"], help="default: from the file name")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        if not os.path.isfile(path):
            raise CommandError(f"No such file: {path}")
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}")
        try:
            job = services.customer_import_create(tenant=tenant, actor=None, local_path=path, format=options["format"])
        except Exception as exc:  # a ValidationError about the format, mostly
            raise CommandError(str(getattr(exc, "messages", exc))) from exc
        started = time.monotonic()
        self.stdout.write(f"Import {job.pk}: {job.file_name} ({job.format}) into {tenant.slug}")

        def progress(current: CustomerImport) -> None:
            elapsed = time.monotonic() - started
            rate = current.processed_rows / elapsed if elapsed > 0 else 0.0
            self.stdout.write(
                f"  {current.processed_rows:,}/{current.total_rows or 0:,} rows ({current.percent:.1f}%)"
                f" created {current.created_count:,} updated {current.updated_count:,}"
                f" errors {current.error_count:,} · {rate:,.0f} rows/s"
            )

        job = services.customer_import_run(job_id=job.pk, progress=progress)
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{job.status}: {job.processed_rows:,} rows in {elapsed:.1f} s — created {job.created_count:,},"
            f" updated {job.updated_count:,}, rejected {job.error_count:,}"
        )
        for error in job.errors[:ERRORS_SHOWN]:
            field = f" {error['field']}" if error["field"] else ""
            self.stdout.write(f"  line {error['line']}{field}: {error['message']}")
        if len(job.errors) > ERRORS_SHOWN or job.error_count > len(job.errors):
            self.stdout.write(f"  ... see the job {job.pk} for more errors")
        if job.status == ImportStatus.FAILED:
            raise CommandError(job.message or "The import failed.")
