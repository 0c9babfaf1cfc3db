from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from console.demo import DEFAULT_CUSTOMERS, DEFAULT_SEED, PASSWORD, USERS, demo_seed
from kaireon.errors import DomainError


class Command(BaseCommand):
    help = (
        "Load the demo tenants (Kaireon Demo Bank and Kaireon Demo Retail), their catalogue, "
        "synthetic customers, segments, campaigns, a journey with enrolled customers, and the demo "
        "logins. Creates only what is missing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers",
            type=int,
            default=DEFAULT_CUSTOMERS,
            help=f"bank customers to generate (default {DEFAULT_CUSTOMERS:,})",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"random seed of the customers (default {DEFAULT_SEED})"
        )
        parser.add_argument(
            "--with-run",
            action="store_true",
            help="also execute one run of credit-card-nba over High Value Customers, in this process",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 0:
            raise CommandError("--customers must be 0 or more.")
        try:
            report = demo_seed(customers=options["customers"], seed=options["seed"], with_run=options["with_run"])
        except (DjangoValidationError, DomainError) as exc:
            raise CommandError(f"The demo data could not be created: {exc}") from exc
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(f"Demo logins (password {PASSWORD}):")
        for username, staff, roles in USERS:
            where = ", ".join(f"{role} of {slug}" for slug, role in roles.items())
            self.stdout.write(f"  {username:<12} {where}" + ("; Django admin at /admin/" if staff else ""))
