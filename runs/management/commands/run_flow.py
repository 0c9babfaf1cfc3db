from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from decisionflows.models import DecisionFlow
from kaireon.errors import DomainError
from kaireon.models import Tenant
from runs import selectors, services
from runs.models import ExecutionMode, Run
from segments.models import Segment

BAR_WIDTH = 40


class Command(BaseCommand):
    help = "Create a run of a decision flow over a segment, show its progress until it ends, print the summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--flow", required=True, help="decision flow key")
        parser.add_argument("--segment", required=True, help="segment name")
        parser.add_argument("--name", default="", help="run name (default: '<flow> x <segment>')")
        parser.add_argument(
            "--inline", action="store_true", help="execute in this process instead of on the Celery workers"
        )
        parser.add_argument("--poll", type=float, default=0.5, help="seconds between progress updates")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        flow = DecisionFlow.objects.filter(tenant=tenant, key=options["flow"]).first()
        if flow is None:
            raise CommandError(f"No decision flow with key {options['flow']!r} in {tenant.slug}.")
        segment = Segment.objects.filter(tenant=tenant, name=options["segment"]).first()
        if segment is None:
            raise CommandError(f"No segment named {options['segment']!r} in {tenant.slug}.")
        try:
            run = services.run_create(
                tenant=tenant,
                actor=None,
                decision_flow_id=flow.pk,
                segment_id=segment.pk,
                name=options["name"],
                dispatch=not options["inline"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Run {run.pk}: {run.name}")
        if options["inline"]:
            Run.objects.filter(pk=run.pk).update(execution_mode=ExecutionMode.COMMAND)
            run = services.run_execute_inline(run_id=run.pk, progress=self._progress)
        else:
            while not run.is_finished:
                time.sleep(options["poll"])
                run.refresh_from_db()
                self._progress(run)
        self.stdout.write("")
        self._summary(run)
        if run.status not in ("completed", "completed_with_errors"):
            raise CommandError(f"Run ended {run.status}: {run.error}")

    def _progress(self, run: Run) -> None:
        done = int(BAR_WIDTH * run.percent / 100)
        eta = f" ETA {run.eta_seconds:.0f}s" if run.eta_seconds is not None else ""
        line = (
            f"\r[{'#' * done}{'.' * (BAR_WIDTH - done)}] {run.percent:5.1f}% "
            f"{run.processed_customers}/{run.total_customers} {run.status}{eta}   "
        )
        self.stdout.write(line, ending="")
        sys.stdout.flush()

    def _summary(self, run: Run) -> None:
        self.stdout.write(f"Status: {run.status}")
        if run.error:
            self.stdout.write(f"Error: {run.error}")
        if not run.summary:
            return
        summary = selectors.run_results(run)
        self.stdout.write(
            f"Customers processed: {summary['customers_processed']}  "
            f"with recommendations: {summary['customers_with_recommendations']}  "
            f"recommendations: {summary['total_recommendations']}  "
            f"average per customer: {summary['average_offers_per_customer']}  "
            f"time: {summary['execution_seconds']} s"
        )
        self.stdout.write("Offers:")
        for row in summary["offer_breakdown"]:
            self.stdout.write(f"  {row['offer_name']:<30} {row['count']:>10}  {row['percent']:5.1f}%")
        self.stdout.write("Channels:")
        for row in summary["channel_breakdown"]:
            self.stdout.write(f"  {row['channel_name']:<30} {row['count']:>10}  {row['percent']:5.1f}%")
