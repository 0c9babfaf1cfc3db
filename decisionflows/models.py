"""The decisioning catalogue: channels, offers, creatives, contact policies, contact history,
decision flows and their published (immutable) versions."""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from kaireon.ids import PublicId
from kaireon.models import Tenant, TenantModel


class ActiveStatus(models.TextChoices):
    ACTIVE = "active"
    INACTIVE = "inactive"


# --- channels ------------------------------------------------------------------------------


class ChannelType(models.TextChoices):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    IN_APP = "in_app"
    WEB = "web"
    WEBHOOK = "webhook"
    DIRECT_MAIL = "direct_mail"
    CALL_CENTER = "call_center"


class DeliveryMode(models.TextChoices):
    API = "api"
    FILE = "file"
    INTEGRATION = "integration"
    MANUAL = "manual"


# Batch runs deliver through these; ``api`` channels serve the real-time Recommend API only.
BATCH_DELIVERY_MODES = frozenset({DeliveryMode.FILE, DeliveryMode.INTEGRATION, DeliveryMode.MANUAL})


class ChannelQuerySet(models.QuerySet["Channel"]):
    def batch_compatible(self) -> ChannelQuerySet:
        return self.filter(delivery_mode__in=BATCH_DELIVERY_MODES)

    def active(self) -> ChannelQuerySet:
        return self.filter(status=ActiveStatus.ACTIVE)


class Channel(TenantModel):
    id = models.CharField(primary_key=True, max_length=40, default=PublicId("ch"), editable=False)
    name = models.CharField(max_length=200)
    channel_type = models.CharField(max_length=20, choices=ChannelType.choices)
    delivery_mode = models.CharField(max_length=20, choices=DeliveryMode.choices)
    status = models.CharField(max_length=10, choices=ActiveStatus.choices, default=ActiveStatus.ACTIVE)
    # Opaque to us apart from ``webhookUrl`` (required for integration delivery); stored as sent.
    provider_config = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="channel_unique_name")]
        indexes = [
            # the API's list, newest first
            models.Index(fields=["tenant", "-created_at"], name="channel_tenant_created"),
            # run creation: "does the tenant have a batch-compatible channel?"
            models.Index(fields=["tenant", "delivery_mode"], name="channel_tenant_delivery"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def batch_compatible(self) -> bool:
        return self.delivery_mode in BATCH_DELIVERY_MODES


# --- offers and creatives ------------------------------------------------------------------


class OfferStatus(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Offer(TenantModel):
    id = models.CharField(primary_key=True, max_length=40, default=PublicId("off"), editable=False)
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.DRAFT)
    priority = models.PositiveSmallIntegerField(default=50, validators=[MinValueValidator(0), MaxValueValidator(100)])
    business_value = models.DecimalField(max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)])
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    # A condition in the rule language (kaireon.rules) over customer.* and offer.* fields;
    # {} matches every customer.
    eligibility = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="offer_unique_key"),
            models.CheckConstraint(condition=models.Q(priority__lte=100), name="offer_priority_range"),
            models.CheckConstraint(condition=models.Q(business_value__gte=0), name="offer_business_value_positive"),
            models.CheckConstraint(
                condition=models.Q(start_date__isnull=True)
                | models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="offer_dates_ordered",
            ),
        ]
        indexes = [
            # the API's list, newest first
            models.Index(fields=["tenant", "-created_at"], name="offer_tenant_created"),
            # the engine's inventory: a tenant's active offers, by category
            models.Index(fields=["tenant", "status", "category"], name="offer_tenant_status_category"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class Creative(TenantModel):
    """What an offer looks like on one channel. Text may carry personalization tokens."""

    id = models.CharField(primary_key=True, max_length=40, default=PublicId("cr"), editable=False)
    # Creatives are part of their offer (deleted with it); a channel in use cannot be deleted.
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="creatives")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="creatives")
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=500, blank=True, help_text="Email subject, push or in-app title.")
    content = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=ActiveStatus.choices, default=ActiveStatus.ACTIVE)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "channel", "name"], name="creative_unique_name"),
        ]
        indexes = [
            # the API's list, newest first; offer detail and ?offerId use the unique key above
            models.Index(fields=["tenant", "-created_at"], name="creative_tenant_created"),
        ]

    def __str__(self) -> str:
        return self.name


# --- contact policies and history ----------------------------------------------------------


class PolicyType(models.TextChoices):
    FREQUENCY_CAP = "frequency_cap"
    COOLDOWN = "cooldown"
    SUPPRESSION = "suppression"


class CapPeriod(models.TextChoices):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class CapScope(models.TextChoices):
    GLOBAL = "global"
    CHANNEL = "channel"
    OFFER = "offer"


class ContactPolicy(TenantModel):
    """A rule on how often a customer may be contacted. Only the fields of its type are set."""

    id = models.CharField(primary_key=True, max_length=40, default=PublicId("cp"), editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=ActiveStatus.choices, default=ActiveStatus.ACTIVE)
    policy_type = models.CharField(max_length=20, choices=PolicyType.choices)
    # frequency_cap: at most max_count contacts per period, counted globally, per channel or per offer
    max_count = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    period = models.CharField(max_length=10, choices=CapPeriod.choices, blank=True)
    scope = models.CharField(max_length=10, choices=CapScope.choices, blank=True)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="contact_policies"
    )
    offer = models.ForeignKey(Offer, null=True, blank=True, on_delete=models.PROTECT, related_name="contact_policies")
    # cooldown: hours that must pass before the same offer goes to the same customer again
    cooldown_hours = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    # suppression
    suppress_unsubscribed = models.BooleanField(default=False)
    suppress_suppressed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "contact policies"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="contact_policy_unique_name"),
            models.CheckConstraint(
                condition=~models.Q(policy_type="frequency_cap")
                | (models.Q(max_count__isnull=False) & ~models.Q(period="") & ~models.Q(scope="")),
                name="contact_policy_cap_complete",
            ),
            models.CheckConstraint(
                condition=~models.Q(policy_type="cooldown") | models.Q(cooldown_hours__isnull=False),
                name="contact_policy_cooldown_complete",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="contact_policy_tenant_created")]

    def __str__(self) -> str:
        return self.name


class ContactSource(models.TextChoices):
    RUN = "run"
    JOURNEY = "journey"
    RECOMMEND = "recommend"
    MANUAL = "manual"


# The columns a bulk write of contact history fills (the id is the table's own).
CONTACT_HISTORY_COLUMNS = ("tenant_id", "customer_id", "offer_id", "channel_id", "source", "source_id", "contacted_at")


class ContactHistory(models.Model):
    """One offer sent to one customer outside a run (a journey send, a manual contact), or a
    contact of a run that was since deleted; the runs' own contacts are their recommendations
    (``Contact`` reads both). Bulk table (journeys append in batches): bigint key, no database
    foreign keys and no per-column indexes, so a large append costs one index; CASCADE and
    PROTECT still hold through the ORM."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False)
    customer = models.ForeignKey(
        "segments.Customer", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False)
    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    source = models.CharField(max_length=10, choices=ContactSource.choices)
    source_id = models.CharField(max_length=64, blank=True)
    contacted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-contacted_at", "-id"]
        verbose_name_plural = "contact history"
        indexes = [
            # caps and cooldowns: "contacts of customers id a..b since <cutoff>" for a chunk, the
            # API's list of one customer's contacts, and the ORM's cascade when a customer is
            # deleted. Customer ids are global, so it leads with the customer, not the tenant.
            models.Index(fields=["customer", "contacted_at"], name="contact_history_customer_time"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} ← {self.offer_id} @ {self.contacted_at:%Y-%m-%d %H:%M}"


class Contact(models.Model):
    """Read-only: the whole contact history, as the engine's caps and cooldowns count it and
    the API lists it. A database view (``contact_history_all``, defined by the runs app's
    migrations, which own half of it) over two sources:

    - the ``ContactHistory`` rows: journey sends, manual contacts, and the contacts of deleted runs;
    - the recommendations of every run that was not cancelled, contacted when the run started.

    A run's rows are its contact history: nothing is written twice, and cancelling a run takes
    its contacts back with it.
    """

    id = models.CharField(primary_key=True, max_length=100)
    tenant = models.ForeignKey(Tenant, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    customer = models.ForeignKey(
        "segments.Customer", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    offer = models.ForeignKey(Offer, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    source = models.CharField(max_length=10, choices=ContactSource.choices)
    source_id = models.CharField(max_length=64, blank=True)
    contacted_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "contact_history_all"
        ordering = ["-contacted_at", "-id"]
        verbose_name = "contact (all sources)"
        verbose_name_plural = "contacts (all sources)"

    def __str__(self) -> str:
        return f"{self.customer_id} ← {self.offer_id} @ {self.contacted_at:%Y-%m-%d %H:%M}"


# --- decision flows ------------------------------------------------------------------------


class FlowStatus(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class DecisionFlow(TenantModel):
    """A pipeline of nodes (see decisionflows.pipeline) that turns customers into ranked offers.

    Runs execute a published version, never the editable pipeline."""

    id = models.CharField(primary_key=True, max_length=40, default=PublicId("df"), editable=False)
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=FlowStatus.choices, default=FlowStatus.DRAFT)
    # The normalised pipeline (defaults filled); [] while the flow is still a sketch.
    pipeline = models.JSONField(default=list, blank=True)
    # Highest published version number, kept here so lists need no aggregate; publish sets it
    # under a row lock on the flow.
    latest_version = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="decision_flow_unique_key")]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="decision_flow_tenant_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"

    @property
    def runnable(self) -> bool:
        """Runs may start from it: active, with at least one published version."""
        return self.status == FlowStatus.ACTIVE and self.latest_version is not None

    @property
    def published_version(self) -> int | None:
        """The version runs use now: the latest one, while the flow is active."""
        return self.latest_version if self.runnable else None


class DecisionFlowVersion(models.Model):
    """An immutable snapshot of a flow's pipeline, numbered 1, 2, 3… per flow."""

    id = models.CharField(primary_key=True, max_length=40, default=PublicId("dfv"), editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    flow = models.ForeignKey(DecisionFlow, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    pipeline = models.JSONField()
    published_at = models.DateTimeField(default=timezone.now, editable=False)
    published_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["flow", "-version"]
        constraints = [
            # the publish race backstop, and the index behind "latest version of a flow"
            models.UniqueConstraint(fields=["flow", "version"], name="decision_flow_version_unique"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="decision_flow_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.flow_id} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Versions are written once by decision_flow_publish; an update would rewrite history.
        if not self._state.adding:
            raise ValueError("Published decision flow versions are immutable.")
        super().save(*args, **kwargs)
