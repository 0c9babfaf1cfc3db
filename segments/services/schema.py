"""The tenant's customer schema: attributes, their types, and what segments rely on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from kaireon.errors import Conflict, ValidationError
from kaireon.models import Tenant
from kaireon.services import Actor, audit_record, catalogue_version_bump, snapshot
from segments import locks, selectors
from segments.attributes import RESERVED_NAMES
from segments.models import CustomerAttribute, Segment
from segments.services._shared import changes


def _segments_conflict(message: str, segments: list[Segment]) -> Conflict:
    names = ", ".join(segment.name for segment in segments)
    return Conflict(
        f"{message}: used by the segment(s) {names}.",
        segments=[{"id": segment.pk, "name": segment.name} for segment in segments],
    )


@transaction.atomic
def customer_attribute_create(*, tenant: Tenant, actor: Actor, data: Mapping[str, Any]) -> CustomerAttribute:
    """Add an attribute to the tenant's customer schema (names are unique and not built-in)."""
    name = data["name"]
    if name in RESERVED_NAMES:
        raise ValidationError({"name": f"{name!r} is a built-in customer field; choose another name"})
    if CustomerAttribute.objects.filter(tenant=tenant, name=name).exists():
        raise ValidationError({"name": f"the schema already has an attribute named {name!r}"})
    attribute = CustomerAttribute.objects.create(tenant=tenant, **data)
    audit_record(tenant=tenant, actor=actor, action="create", instance=attribute, after=snapshot(attribute))
    # decisions type the customer's attributes by the schema (decisionflows.realtime caches it)
    catalogue_version_bump(tenant=tenant)
    return attribute


@transaction.atomic
def customer_attribute_update(
    *, tenant: Tenant, actor: Actor, instance: CustomerAttribute, data: Mapping[str, Any]
) -> CustomerAttribute:
    """Change label, description, required or type; a type used by segment filters stays (409)."""
    attribute = locks.customer_attribute_for_update().get(pk=instance.pk, tenant=tenant)
    if "name" in data and data["name"] != attribute.name:
        raise ValidationError({"name": "an attribute cannot be renamed; add a new one instead"})
    if "type" in data and data["type"] != attribute.type:
        used_by = selectors.segments_using_fields(tenant=tenant, names={attribute.name})
        if used_by:
            raise _segments_conflict(f"Cannot change the type of {attribute.name!r}", used_by)
    before = snapshot(attribute)
    for name, value in data.items():
        setattr(attribute, name, value)
    attribute.save()
    changed_before, changed_after = changes(before, snapshot(attribute))
    if changed_after:
        audit_record(
            tenant=tenant, actor=actor, action="update", instance=attribute, before=changed_before, after=changed_after
        )
        catalogue_version_bump(tenant=tenant)
    return attribute


@transaction.atomic
def customer_attribute_delete(*, tenant: Tenant, actor: Actor, instance: CustomerAttribute) -> None:
    """Remove an attribute from the schema; customers' stored values stay, unused (409 if in use)."""
    used_by = selectors.segments_using_fields(tenant=tenant, names={instance.name})
    if used_by:
        raise _segments_conflict(f"Cannot delete {instance.name!r}", used_by)
    audit_record(tenant=tenant, actor=actor, action="delete", instance=instance, before=snapshot(instance))
    instance.delete()
    catalogue_version_bump(tenant=tenant)
