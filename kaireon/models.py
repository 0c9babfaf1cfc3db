from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kaireon.ids import PublicId


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"


ROLE_RANK: dict[str, int] = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


def role_at_least(role: str, minimum: str) -> bool:
    return ROLE_RANK.get(role, 0) >= ROLE_RANK[Role(minimum)]


class Tenant(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=PublicId("t"), editable=False)
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    # Hash of the newest audit entry: lets verify_audit notice entries cut off the chain's end.
    audit_head = models.CharField(max_length=64, blank=True, editable=False)
    # Changed in the transaction of every write to what a decision reads (catalogue, contact
    # policies, decision flows, customer schema): the Recommend API keeps decision contexts per
    # process keyed by it (decisionflows.realtime) and reads it back with every request. A random
    # stamp, not a counter: a change rolled back must never leave its number to a later one (a
    # context read inside that transaction would pass for the later change's).
    catalogue_version = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantModel(models.Model):
    """Base for everything a tenant owns: a public id, the tenant, and timestamps."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="membership_user_tenant_unique")]
        ordering = ["tenant__name"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class ApiKey(TenantModel):
    id = models.CharField(primary_key=True, max_length=40, default=PublicId("key"), editable=False)
    name = models.CharField(max_length=120)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    # The first characters of the key, shown in lists so people can tell keys apart.
    prefix = models.CharField(max_length=16, unique=True)
    # sha256 of the whole key: keys carry 240 random bits, so a fast hash is enough and the
    # lookup stays one indexed equality.
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="apikey_tenant_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class AuditLog(models.Model):
    """One audited change. ``entry_hash`` covers the entry and the previous entry's hash of the
    same tenant, so editing or deleting any row breaks the chain (``manage.py verify_audit``)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    actor_type = models.CharField(max_length=10)  # user | api_key | system
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # the API's list: one tenant, newest first, optionally one object
            models.Index(fields=["tenant", "-id"], name="audit_tenant_id"),
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_tenant_object"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id}"


class ListCount(models.Model):
    """Signed deltas of a counted table's rows per tenant, scope and status, appended by
    PostgreSQL triggers in the writers' own transactions: their sum is the exact count of the
    rows a snapshot sees (kaireon/listcounts.py). Written and folded by the triggers only."""

    id = models.BigAutoField(primary_key=True)
    # A derived figure, not the tenant's data: it goes with the tenant (no database key: the
    # triggers append rows on every write, and need no check of the tenant row for it).
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)
    table_name = models.CharField(max_length=63)
    # "" for the whole tenant; "<column>=<value>" for the rows with that value (plan_id=plan_…)
    scope = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=40, blank=True)
    n = models.BigIntegerField()

    class Meta:
        indexes = [
            # a list's total: the deltas of one tenant, table and scope, of some statuses
            models.Index(fields=["tenant", "table_name", "scope", "status"], name="list_count_key"),
        ]

    def __str__(self) -> str:
        return f"{self.table_name} {self.scope or '*'} {self.status or '*'}: {self.n:+d}"
