from __future__ import annotations

from typing import ClassVar

import numpy as np
from django.db import models
from django.utils import timezone

from kaireon.ids import PublicId
from kaireon.listcounts import CountedList
from kaireon.models import TenantModel


class RunStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATUSES = frozenset(
    {RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_ERRORS, RunStatus.FAILED, RunStatus.CANCELLED}
)
ACTIVE_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)
# A run in these statuses delivered nothing: its rows (written before it stopped) are not
# results, and nobody counts as contacted by it (the contact history view leaves them out).
DISCARDED_STATUSES = frozenset({RunStatus.FAILED, RunStatus.CANCELLED})


class ExecutionMode(models.TextChoices):
    CELERY = "celery"  # planned and fanned out to the workers through the broker
    INLINE = "inline"  # run in a background thread of the web process (broker down, execute-inline)
    COMMAND = "command"  # run in the process of ``manage.py run_flow --inline``


class Run(TenantModel):
    """One execution of a published decision-flow version over a segment's customers."""

    id = models.CharField(primary_key=True, max_length=40, default=PublicId("run"), editable=False)
    name = models.CharField(max_length=300)
    decision_flow = models.ForeignKey("decisionflows.DecisionFlow", on_delete=models.PROTECT, related_name="runs")
    # The version snapshotted at creation: publishing a new one does not change a run.
    flow_version = models.ForeignKey("decisionflows.DecisionFlowVersion", on_delete=models.PROTECT, related_name="+")
    # A deleted segment keeps its runs (and their names); ad-hoc runs have filters instead.
    segment = models.ForeignKey(
        "segments.Segment", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    segment_name = models.CharField(max_length=200, blank=True)
    filters = models.JSONField(null=True, blank=True)
    # The segment's filters when the run was created: planning selects by these, so editing or
    # deleting the segment afterwards never moves (let alone widens) the run's audience.
    segment_filters = models.JSONField(null=True, blank=True)
    channel_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=24, choices=RunStatus.choices, default=RunStatus.PENDING)
    execution_mode = models.CharField(max_length=10, choices=ExecutionMode.choices, default=ExecutionMode.CELERY)
    total_customers = models.PositiveIntegerField(default=0)
    processed_customers = models.PositiveIntegerField(default=0)
    failed_customers = models.PositiveIntegerField(default=0)
    recommendation_count = models.PositiveBigIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    chunks_failed = models.PositiveIntegerField(default=0)
    # How often the reaper had to hand planning or finalising out again; past
    # RUNS_RECOVERY_MAX_ATTEMPTS the run fails with the reason instead of waiting forever.
    recovery_attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # What the run was doing when it failed: stage, chunk, exception type.
    error_context = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(null=True, blank=True)
    created_by = models.CharField(max_length=200, blank=True)

    # the list's total per tenant, status, flow and segment (GET /api/v1/runs and its filters)
    list_counts: ClassVar[CountedList] = CountedList(status="status", scopes=("decision_flow_id", "segment_id"))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # the API's list: one tenant, newest first (optionally one status)
            models.Index(fields=["tenant", "-created_at"], name="run_tenant_created"),
            models.Index(fields=["tenant", "status", "-created_at"], name="run_tenant_status_created"),
            # the reaper: runs stuck in pending or running
            models.Index(fields=["status", "updated_at"], name="run_status_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(processed_customers__lte=models.F("total_customers")),
                name="run_processed_within_total",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def is_discarded(self) -> bool:
        """Stopped without a result (cancelled or failed): whatever it wrote contacted nobody."""
        return self.status in DISCARDED_STATUSES

    @property
    def discarded_message(self) -> str:
        """For a cancelled or failed run: what it wrote before it stopped, and that it is no result."""
        if not self.is_discarded:
            return ""
        verb = "was cancelled" if self.status == RunStatus.CANCELLED else "failed"
        decided = self.processed_customers - self.failed_customers
        if not self.recommendation_count:
            return f"The run {verb} before writing any recommendation; nobody was contacted."
        return (
            f"The run {verb} after {decided:,} of {self.total_customers:,} customers had been decided; "
            f"the {self.recommendation_count:,} recommendations written before are not results and nobody was "
            "contacted."
        )

    @property
    def result_count(self) -> int:
        """Recommendations that are results: none for a cancelled or failed run."""
        return 0 if self.is_discarded else self.recommendation_count

    @property
    def percent(self) -> float:
        if self.total_customers == 0:
            return 100.0 if self.is_finished else 0.0
        return round(100.0 * self.processed_customers / self.total_customers, 1)

    @property
    def elapsed_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.completed_at or timezone.now()
        return max((end - self.started_at).total_seconds(), 0.0)

    @property
    def rate(self) -> float | None:
        """Customers per second so far."""
        elapsed = self.elapsed_seconds
        if not elapsed or not self.processed_customers:
            return None
        return self.processed_customers / elapsed

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the rate observed so far (running runs only)."""
        if self.status != RunStatus.RUNNING:
            return None
        rate = self.rate
        if rate is None:
            return None
        return round((self.total_customers - self.processed_customers) / rate, 1)


class ChunkStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunChunk(models.Model):
    """A slice of a run's customers, processed by one task. The customer ids are the run's
    snapshot of its segment taken at planning, so later segment changes do not move it: an
    ascending int64 array (little-endian bytes, 8 per customer; ``ids()`` reads it), which a
    20,000-customer chunk stores and reads in microseconds where a JSON list took milliseconds."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    first_customer_id = models.BigIntegerField()
    last_customer_id = models.BigIntegerField()
    customer_ids = models.BinaryField()
    size = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A running chunk whose lease passed belongs to a dead worker: the reaper hands it out again.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    recommendation_count = models.PositiveIntegerField(default=0)
    funnel = models.JSONField(null=True, blank=True)
    # The chunk's rows counted by [offer id, channel id, rows, rows of rank 1], written with
    # them: the run's summary adds these up instead of reading its rows again.
    breakdown = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="run_chunk_unique_seq")]
        indexes = [
            # the reaper: running chunks whose lease has expired
            models.Index(fields=["status", "lease_expires_at"], name="run_chunk_status_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} #{self.seq}"

    @staticmethod
    def pack(ids: np.ndarray) -> bytes:
        return np.ascontiguousarray(ids, dtype="<i8").tobytes()

    def ids(self) -> np.ndarray:
        """The chunk's customer ids (a ValueError for stored bytes that are not an int64 array)."""
        return np.frombuffer(bytes(self.customer_ids), dtype="<i8").astype(np.int64)


class Recommendation(models.Model):
    """One ranked offer for one customer in one run. Bulk table (10^6+ rows per run): written
    with COPY, no foreign-key constraints (a run's rows are deleted with one DELETE by run id),
    and the primary key is the dedupe key (run, customer, rank)."""

    pk = models.CompositePrimaryKey("run_id", "customer_id", "rank")
    # No constraints and no per-column indexes: the primary key is the only index a COPY pays for.
    run = models.ForeignKey(Run, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+")
    customer = models.ForeignKey(
        "segments.Customer", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    rank = models.PositiveSmallIntegerField()
    offer = models.ForeignKey(
        "decisionflows.Offer", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    channel = models.ForeignKey(
        "decisionflows.Channel", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    creative = models.ForeignKey(
        "decisionflows.Creative",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    score = models.FloatField()

    class Meta:
        ordering = ["run", "customer", "rank"]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.customer_id}#{self.rank}"
