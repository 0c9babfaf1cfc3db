"""Reads of the catalogue and decision flows, for the engine, the API and the pages; each takes
its tenant."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import BooleanField, Count, Max, Q, QuerySet
from django.db.models.expressions import RawSQL

from decisionflows.models import (
    BATCH_DELIVERY_MODES,
    ActiveStatus,
    Channel,
    ContactPolicy,
    Creative,
    DecisionFlow,
    DecisionFlowVersion,
    FlowStatus,
    Offer,
    OfferStatus,
)
from decisionflows.pipeline import Catalogue, referenced_ids
from kaireon.models import Tenant
from kaireon.rules import FieldSpec
from segments.models import Customer
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


# --- the catalogue's pages -----------------------------------------------------------------


def catalogue_counts(*, tenant: Tenant) -> dict[str, dict[str, int]]:
    """How many of each kind of catalogue object the tenant has, and how many of them are in use
    (active offers and policies, batch channels, runnable flows): one aggregate per kind."""
    total = Count("id")
    return {
        "offers": Offer.objects.filter(tenant=tenant).aggregate(
            total=total, active=Count("id", filter=Q(status=OfferStatus.ACTIVE))
        ),
        "creatives": Creative.objects.filter(tenant=tenant).aggregate(total=total),
        "channels": Channel.objects.filter(tenant=tenant).aggregate(
            total=total, batch=Count("id", filter=Q(delivery_mode__in=BATCH_DELIVERY_MODES))
        ),
        "policies": ContactPolicy.objects.filter(tenant=tenant).aggregate(
            total=total, active=Count("id", filter=Q(status=ActiveStatus.ACTIVE))
        ),
        "flows": DecisionFlow.objects.filter(tenant=tenant).aggregate(
            total=total, runnable=Count("id", filter=Q(status=FlowStatus.ACTIVE, latest_version__isnull=False))
        ),
    }


def offers_for(*, tenant: Tenant) -> QuerySet[Offer]:
    return Offer.objects.filter(tenant=tenant)


def offers_recent(*, tenant: Tenant, limit: int) -> list[Offer]:
    """The tenant's last ``limit`` offers changed."""
    return list(offers_for(tenant=tenant).order_by("-updated_at", "-id")[:limit])


def offer_list(*, tenant: Tenant, q: str = "", category: str = "", status: str = "") -> QuerySet[Offer]:
    """The offer list, newest first, with each offer's number of creatives; ``q`` is part of the
    name or key."""
    offers = offers_for(tenant=tenant)
    if q:
        offers = offers.filter(Q(name__icontains=q) | Q(key__icontains=q))
    if category:
        offers = offers.filter(category=category)
    if status:
        offers = offers.filter(status=status)
    return offers.annotate(creative_count=Count("creatives")).order_by("-created_at", "-id")


def offer_categories(*, tenant: Tenant) -> list[str]:
    """The categories the tenant's offers use, in order, each once."""
    categories = offers_for(tenant=tenant).exclude(category="").order_by("category")
    return list(categories.values_list("category", flat=True).distinct())


def offer_creatives(*, offer: Offer) -> list[Creative]:
    """The offer's creatives with their channels, by channel name, then name."""
    return list(offer.creatives.select_related("channel").order_by("channel__name", "name"))


def creatives_for(*, tenant: Tenant, offer: Offer) -> QuerySet[Creative]:
    return Creative.objects.filter(tenant=tenant, offer=offer)


def sample_customer(*, tenant: Tenant, external_id: str = "") -> Customer | None:
    """The customer creatives are previewed for: the one with ``external_id``, else the tenant's
    first."""
    customers = Customer.objects.filter(tenant=tenant)
    if external_id:
        return customers.filter(external_id=external_id).first()
    return customers.order_by("id").first()


def channels_for(*, tenant: Tenant) -> QuerySet[Channel]:
    return Channel.objects.filter(tenant=tenant)


def channel_list(*, tenant: Tenant) -> QuerySet[Channel]:
    """The channel list by name, with each channel's number of creatives."""
    return channels_for(tenant=tenant).annotate(creative_count=Count("creatives")).order_by("name", "id")


def contact_policies_for(*, tenant: Tenant) -> QuerySet[ContactPolicy]:
    return ContactPolicy.objects.filter(tenant=tenant)


def contact_policy_list(*, tenant: Tenant) -> QuerySet[ContactPolicy]:
    """The policy list by name, with the channel and offer a cap is scoped to."""
    return contact_policies_for(tenant=tenant).select_related("channel", "offer").order_by("name", "id")


def offer_contact_policies(*, tenant: Tenant, offer: Offer) -> list[ContactPolicy]:
    """The policies scoped to ``offer``, by name."""
    return list(contact_policies_for(tenant=tenant).filter(offer=offer).order_by("name"))


def flows_for(*, tenant: Tenant) -> QuerySet[DecisionFlow]:
    return DecisionFlow.objects.filter(tenant=tenant)


def flows_recent(*, tenant: Tenant, limit: int) -> list[DecisionFlow]:
    """The tenant's last ``limit`` flows changed."""
    return list(flows_for(tenant=tenant).order_by("-updated_at", "-id")[:limit])


def flow_list(*, tenant: Tenant, q: str = "", status: str = "") -> QuerySet[DecisionFlow]:
    """The flow list, newest first, with when each was last published; ``q`` is part of the name
    or key."""
    flows = flows_for(tenant=tenant)
    if q:
        flows = flows.filter(Q(name__icontains=q) | Q(key__icontains=q))
    if status:
        flows = flows.filter(status=status)
    return flows.annotate(last_published_at=Max("versions__published_at")).order_by("-created_at", "-id")


@dataclass(frozen=True)
class PipelineObjects:
    """What a pipeline's nodes name: its inventory's offers by id, and (when it has a
    contact_policy node) every policy of the tenant, oldest first."""

    offers: dict[str, Offer]
    policies: list[ContactPolicy]


def pipeline_objects(*, tenant: Tenant, pipeline: Sequence[Mapping[str, Any]]) -> PipelineObjects:
    """The offers and contact policies ``pipeline`` names, in two queries at most, whatever its size."""
    offer_ids: set[str] = set()
    wants_policies = False
    for node in pipeline:
        if node.get("type") == "inventory":
            offer_ids.update(node.get("offer_ids") or [])
        wants_policies = wants_policies or node.get("type") == "contact_policy"
    offers = {o.pk: o for o in offers_for(tenant=tenant).filter(pk__in=offer_ids)} if offer_ids else {}
    policies: list[ContactPolicy] = []
    if wants_policies:
        policies = list(contact_policy_list(tenant=tenant).order_by("created_at", "id"))
    return PipelineObjects(offers=offers, policies=policies)
