from __future__ import annotations

from kaireon.models import Tenant
from kaireon.rules import FieldSpec
from segments.models import CustomerAttribute

# Columns every customer has, as the rule language sees them.
BUILTIN_CUSTOMER_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("external_id", "string", "External id"),
        FieldSpec("email", "string", "Email"),
        FieldSpec("first_name", "string", "First name"),
        FieldSpec("last_name", "string", "Last name"),
        FieldSpec("phone", "string", "Phone"),
        FieldSpec("suppressed", "boolean", "Suppressed"),
        FieldSpec("unsubscribed", "boolean", "Unsubscribed"),
        FieldSpec("created_at", "date", "Created"),
    )
}


def customer_field_specs(*, tenant: Tenant) -> dict[str, FieldSpec]:
    """The fields a rule may name about a customer: built-in columns, then schema attributes."""
    specs = dict(BUILTIN_CUSTOMER_FIELDS)
    for name, type_, label in CustomerAttribute.objects.filter(tenant=tenant).values_list("name", "type", "label"):
        specs.setdefault(name, FieldSpec(name, type_, label or name))
    return specs
