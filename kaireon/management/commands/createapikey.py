from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kaireon.models import Role, Tenant
from kaireon.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a tenant and print it (only the key, once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--name", required=True)
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        days = options["expires_in_days"]
        expires_at = timezone.now() + timedelta(days=days) if days is not None else None
        _, raw = api_key_create(
            tenant=tenant, actor=None, name=options["name"], role=options["role"], expires_at=expires_at
        )
        self.stdout.write(raw)
