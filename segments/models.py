from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from kaireon.ids import PublicId
from kaireon.listcounts import CountedList
from kaireon.models import Tenant, TenantModel

attribute_name_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,62}$",
    "Use lowercase letters, digits and underscores, starting with a letter (at most 63 characters).",
)


class AttributeType(models.TextChoices):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"


class CustomerAttribute(TenantModel):
    """One attribute of the tenant's customer schema; imports and segment filters are typed by it."""

    id = models.CharField(primary_key=True, max_length=40, default=PublicId("attr"), editable=False)
    name = models.CharField(max_length=63, validators=[attribute_name_validator])
    type = models.CharField(max_length=10, choices=AttributeType.choices)
    label = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True)
    required = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="customer_attribute_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class Customer(models.Model):
    """A customer of a tenant. Bulk table: bigint key internally, ``external_id`` in the API."""

    id = models.BigAutoField(primary_key=True)
    # No index of its own: the indexes below lead with tenant, and two more indexes (the FK's
    # and its varchar_pattern_ops twin on PostgreSQL) cost every bulk insert ~25% for nothing.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)
    external_id = models.CharField(max_length=128)
    email = models.CharField(max_length=254, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # Suppressed: never contacted (legal hold, deceased, fraud). Unsubscribed: opted out of
    # marketing. Contact policies drop both.
    suppressed = models.BooleanField(default=False)
    unsubscribed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    # the list's total per tenant (GET /api/v1/customers): the counter has no UPDATE trigger, so a
    # re-import's updates cost nothing, and a customer never changes tenant
    list_counts: ClassVar[CountedList] = CountedList()

    class Meta:
        ordering = ["id"]
        constraints = [
            # the import's upsert key (ON CONFLICT (tenant_id, external_id))
            models.UniqueConstraint(fields=["tenant", "external_id"], name="customer_unique_external_id"),
        ]
        indexes = [
            # keyset scans of one tenant's customers by id range (segment views, run chunks)
            models.Index(fields=["tenant", "id"], name="customer_tenant_id"),
            models.Index(fields=["tenant", "email"], name="customer_tenant_email"),
        ]

    def __str__(self) -> str:
        return self.external_id


class Segment(TenantModel):
    """A saved audience: filters in the rule language, compiled to a database view on save."""

    id = models.CharField(primary_key=True, max_length=40, default=PublicId("seg"), editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    filters = models.JSONField(default=dict, blank=True)
    # The view selecting the segment's customer ids; blank until the segment has been saved
    # with filters that compile (docs/api-contract.md §1.5: "has a materialized view").
    view_name = models.CharField(max_length=63, blank=True)
    customer_count = models.PositiveIntegerField(default=0)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="segment_unique_name")]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="segment_tenant_created")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_view(self) -> bool:
        return bool(self.view_name)


class ImportStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"


class ImportFormat(models.TextChoices):
    CSV = "csv"
    JSON = "json"


class ImportRunner(models.TextChoices):
    CELERY = "celery"  # a Celery worker (the normal path)
    THREAD = "thread"  # the broker was unreachable: a background thread of the web process
    COMMAND = "command"  # ``manage.py import_customers``, in that process


class CustomerImport(TenantModel):
    """One bulk import of customers from a stored file; the API and the UI poll it for progress.

    ``processed_rows`` counts rows read so far, good or bad: ``created_count + updated_count +
    error_count == processed_rows``. ``error_count`` counts rejected rows; ``errors`` keeps the
    first ``ERRORS_STORED`` problems ({line, field, message}), a row may have several.
    """

    ERRORS_STORED = 1000

    id = models.CharField(primary_key=True, max_length=40, default=PublicId("imp"), editable=False)
    status = models.CharField(max_length=24, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    format = models.CharField(max_length=8, choices=ImportFormat.choices)
    # A default_storage name for uploads; an absolute local path for the management command.
    file_path = models.CharField(max_length=500)
    file_name = models.CharField(max_length=255, blank=True)
    runner = models.CharField(max_length=10, choices=ImportRunner.choices, default=ImportRunner.CELERY)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    # Why the job failed, or how it ran when that is unusual (broker down: background thread).
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_key = models.ForeignKey(
        "kaireon.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    # Written with every batch: a running job whose heartbeat is older than the lease may be
    # claimed again (its worker died).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="customer_import_tenant_created")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in ImportStatus]), name="customer_import_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_ERRORS, ImportStatus.FAILED}

    @property
    def percent(self) -> float:
        if self.status in {ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_ERRORS}:
            return 100.0
        if not self.total_rows:
            return 0.0
        return round(min(100.0, 100.0 * self.processed_rows / self.total_rows), 1)
