"""Journeys: plans (versioned step graphs), execution runs of one contact through a plan version,
their hash-chained event log, the sends they made, the tick clock, and idempotency keys of the
public trigger API."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone

from journeys.uuids import uuid7
from kaireon.ids import PublicId
from kaireon.listcounts import CountedList
from kaireon.models import Tenant, TenantModel

# --- plans ---------------------------------------------------------------------------------


class PlanStatus(models.TextChoices):
    DRAFT = "draft"  # never published
    ACTIVE = "active"  # contacts may be enrolled in the published version
    PAUSED = "paused"  # no new enrolments; runs already going carry on
    ARCHIVED = "archived"  # no new enrolments, not published again


class Plan(TenantModel):
    """A journey: a graph of steps a contact walks through. Runs execute a published version;
    ``latest_version`` is the number of the newest version, a draft while it is being edited."""

    id = models.CharField(primary_key=True, max_length=40, default=PublicId("plan"), editable=False)
    # The journey's id in the public API, a UUID (docs/api-contract.md §5.2).
    public_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    latest_version = models.PositiveIntegerField(default=1, editable=False)
    # Highest published version number: what new runs execute. Set by publish under the plan's lock.
    published_version = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="journey_plan_unique_key")]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="journey_plan_tenant_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"

    @property
    def executable(self) -> bool:
        return self.status == PlanStatus.ACTIVE and self.published_version is not None


class PlanVersion(models.Model):
    """The steps of a plan, numbered 1, 2, 3… per plan. A draft (``published_at`` null) is edited
    in place; once published it never changes (editing the plan then starts the next draft)."""

    id = models.CharField(primary_key=True, max_length=40, default=PublicId("planv"), editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    steps = models.JSONField(default=list, blank=True)
    # Filled at publish (journeys.plans.remaining_steps): step id → steps on the longest path
    # from it to an end, itself included.
    remaining = models.JSONField(default=dict, blank=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_by = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan", "-number"]
        constraints = [
            # the publish / edit race backstop, and the index behind "version n of a plan"
            models.UniqueConstraint(fields=["plan", "number"], name="journey_plan_version_unique"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="journey_plan_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} v{self.number}{'' if self.is_published else ' (draft)'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Runs are pinned to published versions: rewriting one would change history under them.
        if not self._state.adding and PlanVersion.objects.filter(pk=self.pk, published_at__isnull=False).exists():
            raise ValueError("Published plan versions are immutable.")
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def first_step(self) -> str | None:
        return self.steps[0]["id"] if self.steps else None


# --- execution runs ------------------------------------------------------------------------


class ExecutionRunStatus(models.TextChoices):
    PENDING = "pending"  # enrolled with a start tick still in the future
    ACTIVE = "active"  # due: the next tick executes its current step
    WAITING = "waiting"  # in a wait step until wake_tick
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATUSES = frozenset({ExecutionRunStatus.COMPLETED, ExecutionRunStatus.FAILED, ExecutionRunStatus.CANCELLED})
# A contact is "enrolled" in a plan while one of its runs is in one of these.
LIVE_STATUSES = frozenset(
    {ExecutionRunStatus.PENDING, ExecutionRunStatus.ACTIVE, ExecutionRunStatus.WAITING, ExecutionRunStatus.PAUSED}
)
# What the tick looks at (with wake_tick ≤ the tick).
DUE_STATUSES = frozenset({ExecutionRunStatus.PENDING, ExecutionRunStatus.ACTIVE, ExecutionRunStatus.WAITING})


def _sorted(statuses: frozenset[ExecutionRunStatus]) -> list[str]:
    return sorted(str(s) for s in statuses)


class ExecutionRun(models.Model):
    """One contact going through one published plan version (docs/api-contract.md §3.2).

    ``wake_tick`` is the tick from which the run is due: the tick it was enrolled or woken at
    while active, the wait's end while waiting, the start while pending. The tick claims due
    rows by it; a wait is this column, never a delayed task."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)  # time-ordered: journeys.uuids
    # Bulk table (bulk-execute writes 10^5 rows at once, the tick updates as many): PROTECT and
    # CASCADE hold through the ORM, without database foreign keys, whose per-row checks were
    # ~40 % of a bulk enrolment. Every index costs each tick's UPDATE of the row (status and
    # wake_tick change: no HOT update), so none where a composite index below leads with the column.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="runs", db_constraint=False, db_index=False)
    # Versions go only with their plan, which its runs protect: nothing to check per version.
    version = models.ForeignKey(
        PlanVersion, on_delete=models.DO_NOTHING, related_name="runs", db_constraint=False, db_index=False
    )
    plan_version = models.PositiveIntegerField()  # the version's number, for lists without a join
    customer = models.ForeignKey("segments.Customer", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    contact_id = models.CharField(max_length=128)  # the customer's externalId when enrolled
    # uuid5 of tenant and externalId (journeys.selectors.profile_uuid): the public API's profileId.
    profile_id = models.UUIDField()
    status = models.CharField(max_length=10, choices=ExecutionRunStatus.choices, default=ExecutionRunStatus.ACTIVE)
    # The status a paused run goes back to on resume (pending, active or waiting); blank otherwise.
    paused_from = models.CharField(max_length=10, blank=True)
    current_step = models.CharField(max_length=64, null=True, blank=True)
    # step id → how many times the run has entered it; a send's idempotency key uses it.
    visits = models.JSONField(default=dict, blank=True)
    steps_completed = models.PositiveIntegerField(default=0)
    steps_remaining = models.PositiveIntegerField(default=0)
    start_tick = models.BigIntegerField()
    current_tick = models.BigIntegerField()  # the last tick that processed the run (start_tick before)
    wake_tick = models.BigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=100, null=True, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    # What the last send or decide step did: branch conditions read it as outcome.*.
    last_result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # The event log's chain head: the newest event's seq and hash (the run row is the chain's lock).
    event_seq = models.PositiveIntegerField(default=0)
    event_head = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    # the list's total per tenant, status and plan (GET /api/v1/journeys/runs and its filters)
    list_counts: ClassVar[CountedList] = CountedList(status="status", scopes=("plan_id",))

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # one live run per contact and plan: the backstop of "already enrolled"
            models.UniqueConstraint(
                fields=["plan", "customer"],
                condition=models.Q(status__in=_sorted(LIVE_STATUSES)),
                name="journey_run_one_live_per_contact",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in ExecutionRunStatus]), name="journey_run_status_valid"
            ),
        ]
        indexes = [
            # the API's list: one tenant, newest first, optionally one status or one plan
            models.Index(fields=["tenant", "-started_at"], name="journey_run_tenant_started"),
            models.Index(fields=["tenant", "status", "-started_at"], name="journey_run_tenant_status"),
            # ?planId (plan ids are global), and the PROTECT check when a plan is deleted
            models.Index(fields=["plan", "-started_at"], name="journey_run_plan_started"),
            models.Index(fields=["tenant", "contact_id"], name="journey_run_tenant_contact"),
            models.Index(fields=["tenant", "profile_id"], name="journey_run_tenant_profile"),
            # the tick's claim: due runs by wake tick (WHERE status IN due AND wake_tick <= t ORDER BY wake_tick, id)
            models.Index(
                fields=["wake_tick", "id"],
                condition=models.Q(status__in=_sorted(DUE_STATUSES)),
                name="journey_run_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} v{self.plan_version} · {self.contact_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


class RunEvent(models.Model):
    """One entry of a run's event log: a step executed or a state change. ``hash`` covers the
    entry and the previous entry's hash, so an edited or deleted row breaks the run's chain
    (journeys.services.execution_run_events_verify), as the audit log does per tenant."""

    id = models.BigAutoField(primary_key=True)
    # Bulk table (a few rows per step): no database foreign key, the unique (run, seq) index
    # serves lookups and the ORM's cascade.
    run = models.ForeignKey(
        ExecutionRun, on_delete=models.CASCADE, related_name="events", db_constraint=False, db_index=False
    )
    seq = models.PositiveIntegerField()
    tick = models.BigIntegerField()
    step = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=30)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [
            # the chain's order, and the index of "a run's events"
            models.UniqueConstraint(fields=["run", "seq"], name="journey_event_unique_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} #{self.seq} {self.action}"


class Send(models.Model):
    """One send of a run: the offer on a channel, personalized. Written in the transaction that
    advances the run, with the contact-history row; the unique (run, step, visit) key makes a
    send happen once even if the same step of the same visit is executed again."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False)
    run = models.ForeignKey(
        ExecutionRun, on_delete=models.CASCADE, related_name="sends", db_constraint=False, db_index=False
    )
    step = models.CharField(max_length=64)
    visit = models.PositiveIntegerField()
    tick = models.BigIntegerField()
    customer = models.ForeignKey(
        "segments.Customer", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    offer = models.ForeignKey(
        "decisionflows.Offer", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    channel = models.ForeignKey(
        "decisionflows.Channel", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    creative = models.ForeignKey(
        "decisionflows.Creative",
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    subject = models.TextField(blank=True)
    content = models.TextField(blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "step", "visit"], name="journey_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.step}#{self.visit} → {self.offer_id}"


# --- the clock and idempotency -------------------------------------------------------------


class JourneyClock(models.Model):
    """The one global tick counter (row id 1). Every tenant's runs share it: one beat task, one
    UPDATE per tick, and a tick is a deployment-wide unit of time (JOURNEYS_TICK_SECONDS)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    tick = models.BigIntegerField(default=0)
    ticked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="journey_clock_single_row")]

    def __str__(self) -> str:
        return f"tick {self.tick}"


class IdempotencyKey(models.Model):
    """An ``Idempotency-Key`` of the public trigger API and the run it created: the same key
    with the same body answers the same run, with another body a 409."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)  # sha256 of the journey id and the canonical body
    run = models.ForeignKey(ExecutionRun, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="journey_idempotency_unique_key")]

    def __str__(self) -> str:
        return self.key
