"""Web pages of the catalogue: its overview, offers with their creatives, channels, contact
policies and decision flows (the pipeline drawn node by node, versions, publish). Thin: reads
are tenant-scoped queries and selectors, every change goes through ``decisionflows.services``;
``tenant_page`` refuses what the role may not do (403), another tenant's object is a 404."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Max, ProtectedError, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from decisionflows import selectors, services
from decisionflows.engine import offer_fields
from decisionflows.forms import (
    ChannelForm,
    ContactPolicyForm,
    CreativeForm,
    DecisionFlowForm,
    OfferForm,
    ServiceForm,
)
from decisionflows.loading import offer_info
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
from decisionflows.personalization import render as personalize
from decisionflows.pipeline import DEFAULT_WEIGHTS
from decisionflows.recommend import CUSTOMER_FIELDS
from kaireon.errors import Conflict, DomainError
from kaireon.models import Role
from kaireon.pages import tenant_page
from kaireon.paging import page_context
from kaireon.principal import Principal
from segments.models import Customer

app_name = "decisionflows"

PER_PAGE = 25
FLOW_VERSIONS_SHOWN = 50
RECENT = 5


def _posted(request: HttpRequest) -> Any:
    """The form data of a POST (even an empty one, which must fail validation), else None."""
    return request.POST if request.method == "POST" else None


def _page(request: HttpRequest, queryset: QuerySet[Any]) -> dict[str, Any]:
    return page_context(request, queryset, PER_PAGE, "rows")


def _in_use_message(exc: Exception, what: str) -> str:
    """Why a delete was refused: the service's own message (Conflict), or, for a row other
    rows still point at (ProtectedError), which kinds of rows they are."""
    if isinstance(exc, Conflict):
        return exc.message
    if isinstance(exc, ProtectedError):
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        return f"This {what} is still in use ({', '.join(kinds)} refer to it) and cannot be deleted."
    return str(exc)


def _delete(
    request: HttpRequest, *, delete: Callable[[], None], what: str, name: str, done: str, back: str
) -> HttpResponse:
    try:
        delete()
    except (Conflict, ProtectedError) as exc:
        messages.error(request, _in_use_message(exc, what))
        return redirect(back)
    messages.success(request, f"{what.capitalize()} “{name}” deleted.")
    return redirect(done)


def _save(form: ServiceForm, write: Callable[[dict[str, Any]], Any]) -> Any | None:
    """Validate the form, then call the service; its errors go beside the fields. None on error."""
    if not form.is_valid():
        return None
    try:
        return write(form.service_data())
    except (DomainError, DjangoValidationError) as exc:
        form.add_service_error(exc)
    return None


# --- overview ------------------------------------------------------------------------------


@tenant_page()
@require_GET
def catalogue_index(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    total = Count("id")
    counts = {
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
    context = {
        "section": "overview",
        "counts": counts,
        "recent_offers": list(Offer.objects.filter(tenant=tenant).order_by("-updated_at", "-id")[:RECENT]),
        "recent_flows": list(DecisionFlow.objects.filter(tenant=tenant).order_by("-updated_at", "-id")[:RECENT]),
        "can_edit": principal.is_editor,
    }
    return render(request, "decisionflows/index.html", context)


# --- offers --------------------------------------------------------------------------------


class OfferFilters:
    """The offer list's filters, read leniently from the query string."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.q = str(params.get("q") or "").strip()[:200]
        self.category = str(params.get("category") or "").strip()[:100]
        status = str(params.get("status") or "")
        self.status = status if status in OfferStatus.values else ""

    @property
    def active(self) -> bool:
        return bool(self.q or self.category or self.status)

    def apply(self, queryset: QuerySet[Offer]) -> QuerySet[Offer]:
        if self.q:
            queryset = queryset.filter(Q(name__icontains=self.q) | Q(key__icontains=self.q))
        if self.category:
            queryset = queryset.filter(category=self.category)
        if self.status:
            queryset = queryset.filter(status=self.status)
        return queryset


def _offer_or_404(principal: Principal, offer_id: str) -> Offer:
    return get_object_or_404(Offer.objects.filter(tenant=principal.tenant), pk=offer_id)


@tenant_page()
@require_GET
def offer_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    filters = OfferFilters(request.GET)
    offers = filters.apply(Offer.objects.filter(tenant=tenant)).annotate(creative_count=Count("creatives"))
    context: dict[str, Any] = {
        "section": "offers",
        "filters": filters,
        "statuses": OfferStatus.choices,
        "categories": list(
            Offer.objects.filter(tenant=tenant)
            .exclude(category="")
            .order_by("category")
            .values_list("category", flat=True)
            .distinct()
        ),
        "can_create": principal.is_editor,
        **_page(request, offers.order_by("-created_at", "-id")),
    }
    return render(request, "decisionflows/offer_list.html", context)


def _sample_customer(request: HttpRequest, principal: Principal) -> tuple[Customer | None, str]:
    """The customer creatives are previewed for: the one asked for by externalId, else the
    tenant's first. Returns it and the search text."""
    wanted = request.GET.get("customer", "").strip()[:128]
    customers = Customer.objects.filter(tenant=principal.tenant)
    if wanted:
        return customers.filter(external_id=wanted).first(), wanted
    return customers.order_by("id").first(), ""


def _offer_tokens(offer: Offer) -> dict[str, Any]:
    """The offer as personalization tokens see it (the engine's own mapping)."""
    return offer_fields(offer_info(offer))


@tenant_page()
@require_GET
def offer_detail(request: HttpRequest, principal: Principal, offer_id: str) -> HttpResponse:
    offer = _offer_or_404(principal, offer_id)
    creatives = list(offer.creatives.select_related("channel").order_by("channel__name", "name"))
    customer, customer_query = _sample_customer(request, principal)
    if customer is not None:
        fields: dict[str, Any] = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
        fields["attributes"] = customer.attributes or {}
        tokens = _offer_tokens(offer)
        for creative in creatives:
            creative.preview_subject = personalize(creative.subject, fields, tokens)  # type: ignore[attr-defined]
            creative.preview_content = personalize(creative.content, fields, tokens)  # type: ignore[attr-defined]
    context = {
        "section": "offers",
        "offer": offer,
        "creatives": creatives,
        "customer": customer,
        "customer_query": customer_query,
        "flows": selectors.flows_referencing(tenant=principal.tenant, offer_id=offer.pk),
        "policies": list(ContactPolicy.objects.filter(tenant=principal.tenant, offer=offer).order_by("name")),
        "can_edit": principal.is_editor,
        "can_delete": principal.is_admin,
    }
    return render(request, "decisionflows/offer_detail.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def offer_create(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    form = OfferForm(_posted(request))
    if request.method == "POST":
        offer = _save(form, lambda data: services.offer_create(tenant=tenant, actor=principal, data=data))
        if offer is not None:
            messages.success(request, f"Offer “{offer.name}” created. Add a creative for each channel it goes on.")
            return redirect("decisionflows:offer-detail", offer_id=offer.pk)
    return render(request, "decisionflows/offer_form.html", {"section": "offers", "form": form, "offer": None})


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def offer_edit(request: HttpRequest, principal: Principal, offer_id: str) -> HttpResponse:
    tenant = principal.tenant
    offer = _offer_or_404(principal, offer_id)
    if request.method == "POST":
        form = OfferForm(request.POST)
        saved = _save(
            form, lambda data: services.offer_update(tenant=tenant, actor=principal, instance=offer, data=data)
        )
        if saved is not None:
            messages.success(request, f"Offer “{saved.name}” saved.")
            return redirect("decisionflows:offer-detail", offer_id=offer.pk)
        offer.refresh_from_db()
    else:
        form = OfferForm(initial=OfferForm.initial_from(offer))
    return render(request, "decisionflows/offer_form.html", {"section": "offers", "form": form, "offer": offer})


@tenant_page(Role.ADMIN)
@require_POST
def offer_delete(request: HttpRequest, principal: Principal, offer_id: str) -> HttpResponse:
    offer = _offer_or_404(principal, offer_id)
    return _delete(
        request,
        delete=lambda: services.offer_delete(tenant=principal.tenant, actor=principal, instance=offer),
        what="offer",
        name=offer.name,
        done="decisionflows:offer-list",
        back=reverse("decisionflows:offer-detail", args=[offer.pk]),
    )


# --- creatives (on their offer's page) -----------------------------------------------------


def _creative_or_404(principal: Principal, offer: Offer, creative_id: str) -> Creative:
    return get_object_or_404(Creative.objects.filter(tenant=principal.tenant, offer=offer), pk=creative_id)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def creative_create(request: HttpRequest, principal: Principal, offer_id: str) -> HttpResponse:
    tenant = principal.tenant
    offer = _offer_or_404(principal, offer_id)
    form = CreativeForm(_posted(request), tenant=tenant, offer=offer)
    if request.method == "POST":
        creative = _save(form, lambda data: services.creative_create(tenant=tenant, actor=principal, data=data))
        if creative is not None:
            messages.success(request, f"Creative “{creative.name}” added to {offer.name}.")
            return redirect("decisionflows:offer-detail", offer_id=offer.pk)
    context = {"section": "offers", "form": form, "offer": offer, "creative": None}
    return render(request, "decisionflows/creative_form.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def creative_edit(request: HttpRequest, principal: Principal, offer_id: str, creative_id: str) -> HttpResponse:
    tenant = principal.tenant
    offer = _offer_or_404(principal, offer_id)
    creative = _creative_or_404(principal, offer, creative_id)
    if request.method == "POST":
        form = CreativeForm(request.POST, tenant=tenant, offer=offer)
        saved = _save(
            form,
            lambda data: services.creative_update(tenant=tenant, actor=principal, instance=creative, data=data),
        )
        if saved is not None:
            messages.success(request, f"Creative “{saved.name}” saved.")
            return redirect("decisionflows:offer-detail", offer_id=offer.pk)
        creative.refresh_from_db()
    else:
        form = CreativeForm(initial=CreativeForm.initial_from(creative), tenant=tenant, offer=offer)
    context = {"section": "offers", "form": form, "offer": offer, "creative": creative}
    return render(request, "decisionflows/creative_form.html", context)


@tenant_page(Role.ADMIN)
@require_POST
def creative_delete(request: HttpRequest, principal: Principal, offer_id: str, creative_id: str) -> HttpResponse:
    offer = _offer_or_404(principal, offer_id)
    creative = _creative_or_404(principal, offer, creative_id)
    return _delete(
        request,
        delete=lambda: services.creative_delete(tenant=principal.tenant, actor=principal, instance=creative),
        what="creative",
        name=creative.name,
        done=reverse("decisionflows:offer-detail", args=[offer.pk]),
        back=reverse("decisionflows:offer-detail", args=[offer.pk]),
    )


# --- channels ------------------------------------------------------------------------------


def _channel_or_404(principal: Principal, channel_id: str) -> Channel:
    return get_object_or_404(Channel.objects.filter(tenant=principal.tenant), pk=channel_id)


@tenant_page()
@require_GET
def channel_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    channels = Channel.objects.filter(tenant=principal.tenant).annotate(creative_count=Count("creatives"))
    context = {
        "section": "channels",
        "can_create": principal.is_editor,
        "can_delete": principal.is_admin,
        **_page(request, channels.order_by("name", "id")),
    }
    return render(request, "decisionflows/channel_list.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def channel_create(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    form = ChannelForm(_posted(request))
    if request.method == "POST":
        channel = _save(form, lambda data: services.channel_create(tenant=tenant, actor=principal, data=data))
        if channel is not None:
            messages.success(request, f"Channel “{channel.name}” created.")
            return redirect("decisionflows:channel-list")
    return render(request, "decisionflows/channel_form.html", {"section": "channels", "form": form, "channel": None})


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, principal: Principal, channel_id: str) -> HttpResponse:
    tenant = principal.tenant
    channel = _channel_or_404(principal, channel_id)
    if request.method == "POST":
        form = ChannelForm(request.POST)
        saved = _save(
            form, lambda data: services.channel_update(tenant=tenant, actor=principal, instance=channel, data=data)
        )
        if saved is not None:
            messages.success(request, f"Channel “{saved.name}” saved.")
            return redirect("decisionflows:channel-list")
        channel.refresh_from_db()
    else:
        form = ChannelForm(initial=ChannelForm.initial_from(channel))
    context = {"section": "channels", "form": form, "channel": channel, "can_delete": principal.is_admin}
    return render(request, "decisionflows/channel_form.html", context)


@tenant_page(Role.ADMIN)
@require_POST
def channel_delete(request: HttpRequest, principal: Principal, channel_id: str) -> HttpResponse:
    channel = _channel_or_404(principal, channel_id)
    return _delete(
        request,
        delete=lambda: services.channel_delete(tenant=principal.tenant, actor=principal, instance=channel),
        what="channel",
        name=channel.name,
        done="decisionflows:channel-list",
        back="decisionflows:channel-list",
    )


# --- contact policies ----------------------------------------------------------------------


def _policy_or_404(principal: Principal, policy_id: str) -> ContactPolicy:
    return get_object_or_404(ContactPolicy.objects.filter(tenant=principal.tenant), pk=policy_id)


@tenant_page()
@require_GET
def policy_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    policies = ContactPolicy.objects.filter(tenant=principal.tenant).select_related("channel", "offer")
    context = {
        "section": "policies",
        "can_create": principal.is_editor,
        "can_delete": principal.is_admin,
        **_page(request, policies.order_by("name", "id")),
    }
    return render(request, "decisionflows/policy_list.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def policy_create(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    form = ContactPolicyForm(_posted(request), tenant=tenant)
    if request.method == "POST":
        policy = _save(form, lambda data: services.contact_policy_create(tenant=tenant, actor=principal, data=data))
        if policy is not None:
            messages.success(request, f"Contact policy “{policy.name}” created.")
            return redirect("decisionflows:policy-list")
    return render(request, "decisionflows/policy_form.html", {"section": "policies", "form": form, "policy": None})


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, principal: Principal, policy_id: str) -> HttpResponse:
    tenant = principal.tenant
    policy = _policy_or_404(principal, policy_id)
    if request.method == "POST":
        form = ContactPolicyForm(request.POST, tenant=tenant)
        saved = _save(
            form,
            lambda data: services.contact_policy_update(tenant=tenant, actor=principal, instance=policy, data=data),
        )
        if saved is not None:
            messages.success(request, f"Contact policy “{saved.name}” saved.")
            return redirect("decisionflows:policy-list")
        policy.refresh_from_db()
    else:
        form = ContactPolicyForm(initial=ContactPolicyForm.initial_from(policy), tenant=tenant)
    context = {"section": "policies", "form": form, "policy": policy, "can_delete": principal.is_admin}
    return render(request, "decisionflows/policy_form.html", context)


@tenant_page(Role.ADMIN)
@require_POST
def policy_delete(request: HttpRequest, principal: Principal, policy_id: str) -> HttpResponse:
    policy = _policy_or_404(principal, policy_id)
    return _delete(
        request,
        delete=lambda: services.contact_policy_delete(tenant=principal.tenant, actor=principal, instance=policy),
        what="contact policy",
        name=policy.name,
        done="decisionflows:policy-list",
        back="decisionflows:policy-list",
    )


# --- decision flows ------------------------------------------------------------------------


class FlowFilters:
    def __init__(self, params: Mapping[str, Any]) -> None:
        self.q = str(params.get("q") or "").strip()[:200]
        status = str(params.get("status") or "")
        self.status = status if status in FlowStatus.values else ""

    @property
    def active(self) -> bool:
        return bool(self.q or self.status)

    def apply(self, queryset: QuerySet[DecisionFlow]) -> QuerySet[DecisionFlow]:
        if self.q:
            queryset = queryset.filter(Q(name__icontains=self.q) | Q(key__icontains=self.q))
        if self.status:
            queryset = queryset.filter(status=self.status)
        return queryset


def _flow_or_404(principal: Principal, flow_id: str) -> DecisionFlow:
    return get_object_or_404(DecisionFlow.objects.filter(tenant=principal.tenant), pk=flow_id)


@tenant_page()
@require_GET
def flow_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    filters = FlowFilters(request.GET)
    flows = filters.apply(DecisionFlow.objects.filter(tenant=principal.tenant)).annotate(
        last_published_at=Max("versions__published_at")
    )
    context = {
        "section": "flows",
        "filters": filters,
        "statuses": FlowStatus.choices,
        "can_create": principal.is_editor,
        **_page(request, flows.order_by("-created_at", "-id")),
    }
    return render(request, "decisionflows/flow_list.html", context)


def _weights(node: Mapping[str, Any]) -> list[dict[str, Any]]:
    weights = node.get("weights") or DEFAULT_WEIGHTS
    return [
        {"name": name, "value": float(weights.get(name, 0)), "percent": round(100 * float(weights.get(name, 0)), 1)}
        for name in DEFAULT_WEIGHTS
    ]


def pipeline_cards(*, tenant: Any, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One card per node, in order, with the offers and contact policies it names looked up
    (two queries at most, whatever the pipeline's size)."""
    offer_ids: set[str] = set()
    wants_policies = False
    for node in pipeline:
        if node.get("type") == "inventory":
            offer_ids.update(node.get("offer_ids") or [])
        wants_policies = wants_policies or node.get("type") == "contact_policy"
    offers = {o.pk: o for o in Offer.objects.filter(tenant=tenant, pk__in=offer_ids)} if offer_ids else {}
    policies: list[ContactPolicy] = []
    if wants_policies:
        policies = list(
            ContactPolicy.objects.filter(tenant=tenant).select_related("channel", "offer").order_by("created_at", "id")
        )
    by_id = {policy.pk: policy for policy in policies}
    cards: list[dict[str, Any]] = []
    for index, node in enumerate(pipeline):
        node_type = node.get("type")
        card: dict[str, Any] = {"number": index + 1, "type": node_type, "node": node}
        if node_type == "inventory":
            card["offers"] = [{"id": oid, "offer": offers.get(oid)} for oid in node.get("offer_ids") or []]
        elif node_type == "contact_policy":
            named = node.get("policy_ids") or []
            card["every_policy"] = not named
            if named:
                card["policies"] = [{"id": pid, "policy": by_id.get(pid)} for pid in named]
            else:
                card["policies"] = [{"id": p.pk, "policy": p} for p in policies if p.status == ActiveStatus.ACTIVE]
        elif node_type == "score":
            card["weights"] = _weights(node)
        cards.append(card)
    return cards


@tenant_page()
@require_GET
def flow_detail(request: HttpRequest, principal: Principal, flow_id: str) -> HttpResponse:
    flow = _flow_or_404(principal, flow_id)
    versions = list(selectors.flow_versions(flow=flow)[:FLOW_VERSIONS_SHOWN])
    latest = versions[0] if versions else None
    context = {
        "section": "flows",
        "flow": flow,
        "cards": pipeline_cards(tenant=principal.tenant, pipeline=flow.pipeline or []),
        "versions": versions,
        "latest": latest,
        "unpublished_changes": bool(flow.pipeline) and (latest is None or latest.pipeline != flow.pipeline),
        "can_edit": principal.is_editor,
        "can_publish": principal.is_editor and flow.status != FlowStatus.ARCHIVED and bool(flow.pipeline),
        "can_run": principal.is_editor and flow.runnable,
        "can_delete": principal.is_admin,
    }
    return render(request, "decisionflows/flow_detail.html", context)


@tenant_page()
@require_GET
def flow_version(request: HttpRequest, principal: Principal, flow_id: str, number: int) -> HttpResponse:
    flow = _flow_or_404(principal, flow_id)
    version: DecisionFlowVersion = get_object_or_404(selectors.flow_versions(flow=flow), version=number)
    context = {
        "section": "flows",
        "flow": flow,
        "version": version,
        "cards": pipeline_cards(tenant=principal.tenant, pipeline=version.pipeline or []),
    }
    return render(request, "decisionflows/flow_version.html", context)


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def flow_create(request: HttpRequest, principal: Principal) -> HttpResponse:
    tenant = principal.tenant
    if request.method == "POST":
        form = DecisionFlowForm(request.POST)
        flow = _save(form, lambda data: services.decision_flow_create(tenant=tenant, actor=principal, data=data))
        if flow is not None:
            messages.success(request, f"Decision flow “{flow.name}” created. Publish it when it is ready to run.")
            return redirect("decisionflows:flow-detail", flow_id=flow.pk)
    else:
        form = DecisionFlowForm(initial=DecisionFlowForm.initial_new())
    return render(request, "decisionflows/flow_form.html", {"section": "flows", "form": form, "flow": None})


@tenant_page(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def flow_edit(request: HttpRequest, principal: Principal, flow_id: str) -> HttpResponse:
    tenant = principal.tenant
    flow = _flow_or_404(principal, flow_id)
    if request.method == "POST":
        form = DecisionFlowForm(request.POST)
        saved = _save(
            form,
            lambda data: services.decision_flow_update(tenant=tenant, actor=principal, instance=flow, data=data),
        )
        if saved is not None:
            messages.success(request, f"Decision flow “{saved.name}” saved. Runs see the change once it is published.")
            return redirect("decisionflows:flow-detail", flow_id=flow.pk)
        flow.refresh_from_db()
    else:
        form = DecisionFlowForm(initial=DecisionFlowForm.initial_from(flow))
    return render(request, "decisionflows/flow_form.html", {"section": "flows", "form": form, "flow": flow})


@tenant_page(Role.EDITOR)
@require_POST
def flow_publish(request: HttpRequest, principal: Principal, flow_id: str) -> HttpResponse:
    flow = _flow_or_404(principal, flow_id)
    try:
        version = services.decision_flow_publish(tenant=principal.tenant, actor=principal, flow=flow)
    except (DomainError, DjangoValidationError) as exc:
        form = DecisionFlowForm()
        problems = [message for messages_ in form.service_errors(exc).values() for message in messages_]
        messages.error(request, f"Version not published: {' '.join(problems)}")
    else:
        note = (
            ""
            if flow.status == FlowStatus.ACTIVE
            else f" Runs can use it once the flow is active (it is {flow.status})."
        )
        messages.success(request, f"Version {version.version} of “{flow.name}” published.{note}")
    return redirect("decisionflows:flow-detail", flow_id=flow.pk)


@tenant_page(Role.ADMIN)
@require_POST
def flow_delete(request: HttpRequest, principal: Principal, flow_id: str) -> HttpResponse:
    flow = _flow_or_404(principal, flow_id)
    return _delete(
        request,
        delete=lambda: services.decision_flow_delete(tenant=principal.tenant, actor=principal, instance=flow),
        what="decision flow",
        name=flow.name,
        done="decisionflows:flow-list",
        back=reverse("decisionflows:flow-detail", args=[flow.pk]),
    )


urlpatterns = [
    path("catalogue/", catalogue_index, name="index"),
    path("catalogue/offers/", offer_list, name="offer-list"),
    path("catalogue/offers/new/", offer_create, name="offer-create"),
    path("catalogue/offers/<str:offer_id>/", offer_detail, name="offer-detail"),
    path("catalogue/offers/<str:offer_id>/edit/", offer_edit, name="offer-edit"),
    path("catalogue/offers/<str:offer_id>/delete/", offer_delete, name="offer-delete"),
    path("catalogue/offers/<str:offer_id>/creatives/new/", creative_create, name="creative-create"),
    path("catalogue/offers/<str:offer_id>/creatives/<str:creative_id>/edit/", creative_edit, name="creative-edit"),
    path(
        "catalogue/offers/<str:offer_id>/creatives/<str:creative_id>/delete/", creative_delete, name="creative-delete"
    ),
    path("catalogue/channels/", channel_list, name="channel-list"),
    path("catalogue/channels/new/", channel_create, name="channel-create"),
    path("catalogue/channels/<str:channel_id>/edit/", channel_edit, name="channel-edit"),
    path("catalogue/channels/<str:channel_id>/delete/", channel_delete, name="channel-delete"),
    path("catalogue/policies/", policy_list, name="policy-list"),
    path("catalogue/policies/new/", policy_create, name="policy-create"),
    path("catalogue/policies/<str:policy_id>/edit/", policy_edit, name="policy-edit"),
    path("catalogue/policies/<str:policy_id>/delete/", policy_delete, name="policy-delete"),
    path("catalogue/flows/", flow_list, name="flow-list"),
    path("catalogue/flows/new/", flow_create, name="flow-create"),
    path("catalogue/flows/<str:flow_id>/", flow_detail, name="flow-detail"),
    path("catalogue/flows/<str:flow_id>/versions/<int:number>/", flow_version, name="flow-version"),
    path("catalogue/flows/<str:flow_id>/edit/", flow_edit, name="flow-edit"),
    path("catalogue/flows/<str:flow_id>/publish/", flow_publish, name="flow-publish"),
    path("catalogue/flows/<str:flow_id>/delete/", flow_delete, name="flow-delete"),
]
