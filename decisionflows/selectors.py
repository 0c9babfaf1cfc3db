from __future__ import annotations

from collections.abc import Iterable

from django.db import connections
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from decisionflows.models import (
    ActiveStatus,
    Channel,
    ContactPolicy,
    DecisionFlow,
    DecisionFlowVersion,
    Offer,
)
from decisionflows.pipeline import Catalogue, referenced_ids
from kaireon.models import Tenant
from kaireon.rules import FieldSpec
from segments.selectors import customer_field_specs

# What rules and personalization tokens may say about the offer being decided.
OFFER_FIELD_SPECS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("offer.id", "string", "Offer id"),
        FieldSpec("offer.key", "string", "Offer key"),
        FieldSpec("offer.name", "string", "Offer name"),
        FieldSpec("offer.description", "string", "Offer description"),
        FieldSpec("offer.category", "string", "Offer category"),
        FieldSpec("offer.priority", "integer", "Offer priority"),
        FieldSpec("offer.business_value", "number", "Offer business value"),
        FieldSpec("offer.start_date", "date", "Offer start date"),
        FieldSpec("offer.end_date", "date", "Offer end date"),
        FieldSpec("offer.tags", "list", "Offer tags"),
    )
}


def rule_field_specs(*, tenant: Tenant) -> dict[str, FieldSpec]:
    """``customer.*`` (built-ins and the tenant's schema) and ``offer.*`` fields, for conditions
    and personalization tokens."""
    specs = {
        f"customer.{name}": FieldSpec(f"customer.{name}", spec.type, spec.label)
        for name, spec in customer_field_specs(tenant=tenant).items()
    }
    specs.update(OFFER_FIELD_SPECS)
    return specs


def pipeline_catalogue(*, tenant: Tenant) -> Catalogue:
    """Everything a decision-flow pipeline of ``tenant`` may refer to."""
    return Catalogue(
        fields=rule_field_specs(tenant=tenant),
        offer_ids=frozenset(Offer.objects.filter(tenant=tenant).values_list("id", flat=True)),
        policy_ids=frozenset(ContactPolicy.objects.filter(tenant=tenant).values_list("id", flat=True)),
    )


def batch_channels(*, tenant: Tenant) -> QuerySet[Channel]:
    """Active channels a batch run can deliver through (file, integration or manual)."""
    return Channel.objects.filter(tenant=tenant).active().batch_compatible()


def offers_with_tags(queryset: QuerySet[Offer], tags: Iterable[str]) -> QuerySet[Offer]:
    """Offers carrying every one of ``tags``.

    PostgreSQL answers JSON containment (``@>``); SQLite has no such lookup, so it looks the
    tag up with json_each.
    """
    vendor = connections[queryset.db].vendor
    for tag in tags:
        if vendor == "postgresql":
            queryset = queryset.filter(tags__contains=[tag])
        else:
            table = Offer._meta.db_table
            queryset = queryset.filter(
                RawSQL(  # noqa: S611  (the table name is ours; the tag is a query parameter)
                    f'EXISTS (SELECT 1 FROM json_each("{table}"."tags") WHERE json_each.value = %s)',  # noqa: S608  (as above)
                    [tag],
                    output_field=BooleanField(),
                )
            )
    return queryset


def flows_referencing(
    *, tenant: Tenant, offer_id: str | None = None, policy_id: str | None = None
) -> list[DecisionFlow]:
    """Flows whose current pipeline names the offer or the contact policy.

    Pipelines are JSON, so this reads the tenant's flows (tens, not thousands) rather than
    relying on a JSON lookup SQLite lacks.
    """
    found: list[DecisionFlow] = []
    for flow in DecisionFlow.objects.filter(tenant=tenant).only("id", "key", "name", "pipeline"):
        offer_ids, policy_ids = referenced_ids(flow.pipeline or [])
        if (offer_id is not None and offer_id in offer_ids) or (policy_id is not None and policy_id in policy_ids):
            found.append(flow)
    return found


def flow_versions(*, flow: DecisionFlow) -> QuerySet[DecisionFlowVersion]:
    return DecisionFlowVersion.objects.filter(tenant_id=flow.tenant_id, flow=flow).order_by("-version")


def flow_runnable_version(flow: DecisionFlow) -> DecisionFlowVersion | None:
    """The version a run of ``flow`` executes: its latest published one, while the flow is
    active; ``None`` when the flow is not runnable (not active, or never published)."""
    if not flow.runnable:
        return None
    return flow_versions(flow=flow).first()


def active_contact_policies(*, tenant: Tenant) -> QuerySet[ContactPolicy]:
    return ContactPolicy.objects.filter(tenant=tenant, status=ActiveStatus.ACTIVE)
