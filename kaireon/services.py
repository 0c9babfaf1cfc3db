"""Tenancy, API keys and the audit log. Every state change in the product goes through a
service that calls ``audit_record`` inside its own transaction."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from kaireon import locks
from kaireon.models import ApiKey, AuditLog, Membership, Role, Tenant
from kaireon.principal import Principal

Actor = Principal | None  # None: the system itself (scheduler, worker)


def hash_key(raw_key: str) -> str:
    """What an API key is stored as: its SHA-256 (the key itself is shown once, at creation)."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def jsonable(value: Any) -> Any:
    """A value as it reads back from a JSON column (datetimes, decimals, UUIDs as strings)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def snapshot(instance: models.Model, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The concrete field values of a row, JSON-safe, for an audit entry's before/after."""
    skip = {"tenant", "created_at", "updated_at", *exclude}
    data = {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.name not in skip
    }
    return jsonable(data)


def _entry_hash(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def audit_payload(entry: AuditLog) -> dict[str, Any]:
    created_at = entry.created_at
    assert isinstance(created_at, datetime)
    return {
        "tenant": entry.tenant_id,
        "created_at": created_at.astimezone(UTC).isoformat(),
        "actor_type": entry.actor_type,
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "prev_hash": entry.prev_hash,
    }


def audit_record(
    *,
    tenant: Tenant,
    actor: Actor,
    action: str,
    instance: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> AuditLog:
    """Append one entry to the tenant's hash chain. Call inside the service's transaction."""
    if instance is not None:
        object_type = object_type or instance._meta.model_name or ""
        object_id = object_id or str(instance.pk)
    with transaction.atomic():
        # The tenant row is the chain's lock: entries of one tenant are appended one at a time.
        head = locks.tenant_for_update().values_list("audit_head", flat=True).get(pk=tenant.pk)
        entry = AuditLog(
            tenant=tenant,
            created_at=timezone.now(),
            actor_type=actor.actor_type if actor else "system",
            actor_id=actor.actor_id if actor else "",
            actor_label=actor.actor_label if actor else "system",
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=str(instance)[:200] if instance is not None else "",
            before=jsonable(before),
            after=jsonable(after),
            reason=reason or "",
            prev_hash=head,
        )
        entry.entry_hash = _entry_hash(audit_payload(entry))
        entry.save(force_insert=True)
        Tenant.objects.filter(pk=tenant.pk).update(audit_head=entry.entry_hash)
    return entry


def catalogue_version_bump(*, tenant: Tenant) -> None:
    """Mark what the tenant's decisions read as changed (offers, creatives, channels, contact
    policies, decision flows, customer schema). Call inside the writing service's transaction,
    after its audit entry: the tenant row is locked last. Contexts cached under an older version
    are never used again (decisionflows.realtime). A fresh random stamp (see the field)."""
    Tenant.objects.filter(pk=tenant.pk).update(catalogue_version=secrets.randbits(63))


def audit_verify(*, tenant: Tenant) -> list[str]:
    """Walk the tenant's chain oldest first; return a description of every break found."""
    problems: list[str] = []
    expected_prev = ""
    for entry in AuditLog.objects.filter(tenant=tenant).order_by("id").iterator(chunk_size=2000):
        if entry.prev_hash != expected_prev:
            problems.append(f"entry {entry.pk}: previous hash does not match entry before it (missing or altered row)")
        if _entry_hash(audit_payload(entry)) != entry.entry_hash:
            problems.append(f"entry {entry.pk}: content does not match its hash (row was altered)")
        expected_prev = entry.entry_hash
    tenant.refresh_from_db(fields=["audit_head"])
    if tenant.audit_head != expected_prev:
        problems.append("the newest entries are missing: the chain ends before the recorded head")
    return problems


# --- generic audited writes ---------------------------------------------------------------


@transaction.atomic
def instance_create(
    *, tenant: Tenant, actor: Actor, model: type[models.Model], data: Mapping[str, Any], reason: str = ""
) -> Any:
    """Create a tenant-owned row from validated data (many-to-many values set after save)."""
    many = {k: v for k, v in data.items() if isinstance(model._meta.get_field(k), models.ManyToManyField)}
    fields = {k: v for k, v in data.items() if k not in many}
    instance = model(tenant=tenant, **fields)
    instance.save(force_insert=True)
    for name, values in many.items():
        getattr(instance, name).set(values)
    audit_record(
        tenant=tenant, actor=actor, action="create", instance=instance, after=snapshot(instance), reason=reason
    )
    return instance


@transaction.atomic
def instance_update(
    *, tenant: Tenant, actor: Actor, instance: models.Model, data: Mapping[str, Any], reason: str = ""
) -> Any:
    before = snapshot(instance)
    many = {k: v for k, v in data.items() if isinstance(instance._meta.get_field(k), models.ManyToManyField)}
    for name, value in data.items():
        if name not in many:
            setattr(instance, name, value)
    instance.save()
    for name, values in many.items():
        getattr(instance, name).set(values)
    after = snapshot(instance)
    changed_before = {k: v for k, v in before.items() if after.get(k) != v}
    changed_after = {k: after[k] for k in changed_before}
    if changed_after or many:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="update",
            instance=instance,
            before=changed_before,
            after=changed_after,
            reason=reason,
        )
    return instance


@transaction.atomic
def instance_delete(*, tenant: Tenant, actor: Actor, instance: models.Model, reason: str = "") -> None:
    before = snapshot(instance)
    audit_record(tenant=tenant, actor=actor, action="delete", instance=instance, before=before, reason=reason)
    instance.delete()


# --- tenants and keys ---------------------------------------------------------------------


@transaction.atomic
def tenant_create(*, slug: str, name: str, actor: Actor = None) -> Tenant:
    tenant = Tenant.objects.create(slug=slug, name=name)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="create",
        instance=tenant,
        after=snapshot(tenant, exclude=["audit_head", "catalogue_version"]),
    )
    return tenant


@transaction.atomic
def tenant_update(*, tenant: Tenant, actor: Actor, instance: Tenant, data: Mapping[str, Any]) -> Tenant:
    """Rename a tenant (name, slug). Only the given columns are written: a full save would put
    back an ``audit_head`` read before another write appended to the chain."""
    locked = locks.tenant_for_update().get(pk=instance.pk)
    fields = [name for name in ("name", "slug") if name in data and data[name] != getattr(locked, name)]
    if not fields:
        return locked
    before = {name: getattr(locked, name) for name in fields}
    for name in fields:
        setattr(locked, name, data[name])
    locked.save(update_fields=[*fields, "updated_at"])
    after = {name: getattr(locked, name) for name in fields}
    audit_record(tenant=locked, actor=actor, action="update", instance=locked, before=before, after=after)
    return locked


@transaction.atomic
def membership_set(*, tenant: Tenant, actor: Actor, user: Any, role: str) -> Membership:
    membership, created = Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
    before = None if created else {"role": membership.role}
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    if created or before != {"role": role}:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="create" if created else "update",
            instance=membership,
            before=before,
            after={"user": user.get_username(), "role": role},
        )
    return membership


def generate_key() -> tuple[str, str]:
    """A new secret key and its display prefix: ``kr_<8 chars>_<40 chars>``."""
    prefix = "kr_" + secrets.token_hex(4)
    return f"{prefix}_{secrets.token_urlsafe(30)}", prefix


@transaction.atomic
def api_key_create(
    *, tenant: Tenant, actor: Actor, name: str, role: str = Role.VIEWER, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw secret, which is stored only as a hash."""
    raw, prefix = generate_key()
    key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        role=role,
        prefix=prefix,
        key_hash=hash_key(raw),
        expires_at=expires_at,
        created_by=actor.user if actor and actor.user is not None else None,
    )
    audit_record(tenant=tenant, actor=actor, action="create", instance=key, after=snapshot(key, exclude=["key_hash"]))
    return key, raw


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, actor: Actor, key: ApiKey, reason: str = "") -> ApiKey:
    """Revoke a key (idempotent: revoking a revoked key changes nothing and writes no entry)."""
    updated = ApiKey.objects.filter(pk=key.pk, tenant=tenant, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db()
    if updated:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="revoke",
            instance=key,
            before={"revoked_at": None},
            after={"revoked_at": key.revoked_at},
            reason=reason,
        )
    return key


ROUNDTRIP_ACTION = "worker.roundtrip"


@transaction.atomic
def worker_roundtrip_record(*, tenant_id: str, token: str) -> None:
    """Append one audit entry for ``token`` saying which worker process ran it.

    Idempotent: the tenant row lock serialises callers, and a token already recorded is skipped.
    """
    tenant = locks.tenant_for_update().get(pk=tenant_id)
    if AuditLog.objects.filter(tenant=tenant, action=ROUNDTRIP_ACTION, object_id=token).exists():
        return
    audit_record(
        tenant=tenant,
        actor=None,
        action=ROUNDTRIP_ACTION,
        object_type="worker",
        object_id=token,
        after={"pid": os.getpid(), "host": socket.gethostname()},
    )
