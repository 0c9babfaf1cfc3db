from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kaireon.models import Tenant
from kaireon.services import audit_verify


class Command(BaseCommand):
    help = "Check every tenant's audit hash chain; exits non-zero if any entry was altered or removed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="only this tenant slug")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = Tenant.objects.order_by("slug")
        if options["tenant"]:
            tenants = tenants.filter(slug=options["tenant"])
        broken = 0
        for tenant in tenants:
            problems = audit_verify(tenant=tenant)
            if problems:
                broken += 1
                self.stdout.write(self.style.ERROR(f"{tenant.slug}: chain broken"))
                for problem in problems:
                    self.stdout.write(f"  {problem}")
            else:
                self.stdout.write(self.style.SUCCESS(f"{tenant.slug}: chain intact"))
        if broken:
            raise CommandError(f"{broken} tenant chain(s) broken.")
