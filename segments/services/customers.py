"""Customers one at a time (the API); bulk writes are in segments.services.imports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from kaireon.errors import Conflict, ValidationError
from kaireon.models import Tenant
from kaireon.services import Actor, audit_record, snapshot
from segments import locks, selectors
from segments.attributes import validate_attributes
from segments.models import Customer
from segments.services._shared import changes


def _check_external_id(value: str) -> None:
    if "/" in value:
        raise ValidationError({"externalId": "must not contain '/' (the API addresses customers by it)"})


@transaction.atomic
def customer_create(*, tenant: Tenant, actor: Actor, data: Mapping[str, Any]) -> Customer:
    """Create one customer; attributes are checked against the schema (unknown, type, required)."""
    fields = dict(data)
    _check_external_id(fields["external_id"])
    attributes, problems = validate_attributes(
        fields.pop("attributes", None) or {}, selectors.attribute_schema(tenant=tenant)
    )
    if problems:
        raise ValidationError(problems)
    customer = Customer(tenant=tenant, attributes=attributes, **fields)
    try:
        with transaction.atomic():
            customer.save(force_insert=True)
    except IntegrityError:
        raise Conflict(f"A customer with externalId {fields['external_id']!r} already exists.") from None
    audit_record(tenant=tenant, actor=actor, action="create", instance=customer, after=snapshot(customer))
    return customer


@transaction.atomic
def customer_update(
    *, tenant: Tenant, actor: Actor, instance: Customer, data: Mapping[str, Any], partial: bool = False
) -> Customer:
    """Update a customer. PUT replaces the attributes; PATCH merges them (a null removes one)."""
    customer = locks.customer_for_update().get(pk=instance.pk, tenant=tenant)
    fields = dict(data)
    if "external_id" in fields and fields.pop("external_id") != customer.external_id:
        raise ValidationError({"externalId": "cannot be changed; it identifies the customer"})
    schema = selectors.attribute_schema(tenant=tenant)
    if "attributes" in fields or not partial:
        given = fields.pop("attributes", None) or {}
        coerced, problems = validate_attributes(given, schema, check_required=False)
        merged = {**customer.attributes, **coerced} if partial else coerced
        for name, value in given.items():
            if value is None:
                merged.pop(name, None)
        for name, (_, required) in schema.items():
            if required and name not in merged and f"attributes.{name}" not in problems:
                problems[f"attributes.{name}"] = "required by the customer schema"
        if problems:
            raise ValidationError(problems)
        fields["attributes"] = merged
    before = snapshot(customer)
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.updated_at = timezone.now()
    customer.save()
    changed_before, changed_after = changes(before, snapshot(customer))
    changed_after.pop("updated_at", None)
    if changed_after:
        changed_before.pop("updated_at", None)
        audit_record(
            tenant=tenant, actor=actor, action="update", instance=customer, before=changed_before, after=changed_after
        )
    return customer


@transaction.atomic
def customer_delete(*, tenant: Tenant, actor: Actor, instance: Customer) -> None:
    audit_record(tenant=tenant, actor=actor, action="delete", instance=instance, before=snapshot(instance))
    instance.delete()
