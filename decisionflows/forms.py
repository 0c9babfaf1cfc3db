"""Forms of the catalogue pages. They check shape (required, numbers, JSON); the rules that
matter live in ``decisionflows.services``, whose errors these forms put beside the field they
are about (``add_service_error``)."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from djangorestframework_camel_case.settings import api_settings as camel_settings
from djangorestframework_camel_case.util import camelize, underscoreize

from decisionflows.models import (
    ActiveStatus,
    CapPeriod,
    CapScope,
    Channel,
    ChannelType,
    ContactPolicy,
    Creative,
    DecisionFlow,
    DeliveryMode,
    FlowStatus,
    Offer,
    OfferStatus,
    PolicyType,
)
from decisionflows.pipeline import DEFAULT_WEIGHTS
from kaireon.forms import ServiceErrorsMixin, parse_json_text
from kaireon.models import Tenant
from kaireon.naming import camel
from kaireon.templatetags.kaireon_ui import CHANNEL_TYPES

# What a new flow starts with: every offer, every active contact policy, PRIE with the default
# weights, the three best offers per customer. Valid for any tenant (it names no offer or field).
DEFAULT_PIPELINE: list[dict[str, Any]] = [
    {"type": "inventory", "include_all": True},
    {"type": "contact_policy", "policy_ids": []},
    {"type": "score", "method": "prie", "weights": dict(DEFAULT_WEIGHTS)},
    {"type": "rank", "max_offers_per_customer": 3, "one_offer_per_channel": False},
    {"type": "output"},
]
ELIGIBILITY_EXAMPLE = '{"field": "customer.age", "operator": "gte", "value": 18}'
_NODE_PATH = re.compile(r"^\[(\d+)\](?:\.([a-z_]+))?\.?(.*)$")
CHANNEL_TYPE_CHOICES = [(value, CHANNEL_TYPES.get(value, label)) for value, label in ChannelType.choices]
DELIVERY_MODE_CHOICES = [
    (DeliveryMode.FILE, "File (batch)"),
    (DeliveryMode.INTEGRATION, "Integration, through a webhook (batch)"),
    (DeliveryMode.MANUAL, "Manual (batch)"),
    (DeliveryMode.API, "API (real-time only)"),
]
POLICY_TYPE_CHOICES = [
    (PolicyType.FREQUENCY_CAP, "Frequency cap"),
    (PolicyType.COOLDOWN, "Cooldown"),
    (PolicyType.SUPPRESSION, "Suppression"),
]
_DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


def parse_json(raw: str, *, expect: type, what: str, example: str) -> Any:
    """``raw`` as JSON of type ``expect`` (dict or list), or a form error saying where it broke."""
    value = parse_json_text(raw)
    if not isinstance(value, expect):
        raise forms.ValidationError(
            f"{what} must be a JSON {'object' if expect is dict else 'list'}, such as {example}."
        )
    return value


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def pipeline_to_text(pipeline: list[dict[str, Any]] | None) -> str:
    """A stored (snake_case) pipeline as the API shows it: camelCase, indented."""
    return as_json(camelize(pipeline or [], **camel_settings.JSON_UNDERSCOREIZE))


class ServiceForm(ServiceErrorsMixin, forms.Form):
    """A form whose data goes to a service; the service's errors are mapped to the fields."""

    def service_data(self) -> dict[str, Any]:
        """The cleaned data as the service takes it."""
        return dict(self.cleaned_data)


def _prose(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "class": "df-prose"})


def _code(rows: int = 6) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "spellcheck": "false", "class": "df-code"})


# --- offers --------------------------------------------------------------------------------


class OfferForm(ServiceForm):
    name = forms.CharField(max_length=200)
    key = forms.SlugField(
        max_length=100,
        help_text="Unique in the tenant: letters, digits, hyphens and underscores. APIs and result files use it.",
    )
    category = forms.CharField(
        max_length=100, required=False, help_text="Inventory nodes of decision flows can select offers by category."
    )
    status = forms.ChoiceField(
        choices=OfferStatus.choices, initial=OfferStatus.DRAFT, help_text="Only active offers are recommended."
    )
    priority = forms.IntegerField(
        min_value=0, max_value=100, initial=50, help_text="0 to 100. PRIE scoring uses it as the emphasis (E)."
    )
    business_value = forms.DecimalField(
        min_value=0,
        max_digits=14,
        decimal_places=2,
        initial=0,
        label="Business value",
        help_text="What one conversion is worth; PRIE scoring normalises it as the impact (I).",
    )
    start_date = forms.DateField(required=False, widget=_DATE, label="Start date")
    end_date = forms.DateField(
        required=False, widget=_DATE, label="End date", help_text="Outside these dates the offer is not recommended."
    )
    description = forms.CharField(required=False, widget=_prose())
    eligibility = forms.CharField(
        required=False,
        widget=_code(5),
        help_text=f"A condition over customer.* and offer.* fields, e.g. {ELIGIBILITY_EXAMPLE}. Empty: every customer.",
    )
    tags = forms.CharField(required=False, help_text="Free labels, separated by commas.")

    @staticmethod
    def initial_from(offer: Offer) -> dict[str, Any]:
        return {
            "name": offer.name,
            "key": offer.key,
            "category": offer.category,
            "status": offer.status,
            "priority": offer.priority,
            "business_value": offer.business_value,
            "start_date": offer.start_date,
            "end_date": offer.end_date,
            "description": offer.description,
            "eligibility": as_json(offer.eligibility) if offer.eligibility else "",
            "tags": ", ".join(offer.tags or []),
        }

    def clean_eligibility(self) -> dict[str, Any]:
        raw = (self.cleaned_data.get("eligibility") or "").strip()
        if not raw:
            return {}
        value: dict[str, Any] = parse_json(raw, expect=dict, what="Eligibility", example=ELIGIBILITY_EXAMPLE)
        return value

    def clean_tags(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        return [tag.strip() for tag in raw.split(",") if tag.strip()]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "Must be on or after the start date.")
        return cleaned

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["category"] = data["category"].strip()
        return data


class CreativeForm(ServiceForm):
    SERVICE_FIELDS = {"channel_id": "channel"}

    channel = forms.ModelChoiceField(queryset=Channel.objects.none(), empty_label="Choose a channel")
    name = forms.CharField(max_length=200, help_text="Unique per offer and channel, e.g. “Spring email”.")
    subject = forms.CharField(
        max_length=500, required=False, help_text="Email subject, push or in-app title. May personalize."
    )
    content = forms.CharField(
        required=False,
        widget=_prose(6),
        help_text='Personalize with {{customer.first_name | "there"}} or {{offer.name}}: a field, and an optional '
        "fallback for customers without it.",
    )
    status = forms.ChoiceField(choices=ActiveStatus.choices, initial=ActiveStatus.ACTIVE)

    def __init__(self, *args: Any, tenant: Tenant, offer: Offer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer = offer
        field = self.fields["channel"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Channel.objects.filter(tenant=tenant).order_by("name")

    @staticmethod
    def initial_from(creative: Creative) -> dict[str, Any]:
        return {
            "channel": creative.channel_id,
            "name": creative.name,
            "subject": creative.subject,
            "content": creative.content,
            "status": creative.status,
        }

    def service_data(self) -> dict[str, Any]:
        return {"offer": self.offer, **self.cleaned_data}


# --- channels ------------------------------------------------------------------------------


class ChannelForm(ServiceForm):
    name = forms.CharField(max_length=200)
    channel_type = forms.ChoiceField(label="Channel type", choices=CHANNEL_TYPE_CHOICES)
    delivery_mode = forms.ChoiceField(
        label="Delivery mode",
        choices=DELIVERY_MODE_CHOICES,
        help_text="File, integration and manual channels serve batch runs; API channels serve real-time "
        "recommendations only.",
    )
    status = forms.ChoiceField(choices=ActiveStatus.choices, initial=ActiveStatus.ACTIVE)
    provider_config = forms.CharField(
        label="Provider configuration",
        required=False,
        widget=_code(5),
        help_text='A JSON object, stored as given. Integration delivery needs {"webhookUrl": "https://…"}.',
    )
    description = forms.CharField(required=False, widget=_prose())

    @staticmethod
    def initial_from(channel: Channel) -> dict[str, Any]:
        return {
            "name": channel.name,
            "channel_type": channel.channel_type,
            "delivery_mode": channel.delivery_mode,
            "status": channel.status,
            "provider_config": as_json(channel.provider_config) if channel.provider_config else "",
            "description": channel.description,
        }

    def clean_provider_config(self) -> dict[str, Any]:
        raw = (self.cleaned_data.get("provider_config") or "").strip()
        if not raw:
            return {}
        value: dict[str, Any] = parse_json(
            raw, expect=dict, what="The provider configuration", example='{"webhookUrl": "https://…"}'
        )
        return value

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


# --- contact policies ----------------------------------------------------------------------


class ContactPolicyForm(ServiceForm):
    SERVICE_FIELDS = {"channel_id": "channel", "offer_id": "offer"}

    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=_prose(2))
    status = forms.ChoiceField(
        choices=ActiveStatus.choices, initial=ActiveStatus.ACTIVE, help_text="Inactive policies are not applied."
    )
    policy_type = forms.ChoiceField(
        label="Kind of policy", choices=POLICY_TYPE_CHOICES, initial=PolicyType.FREQUENCY_CAP, widget=forms.RadioSelect
    )
    max_count = forms.IntegerField(
        label="At most", min_value=1, required=False, help_text="Contacts per customer in the period."
    )
    period = forms.ChoiceField(label="Per", choices=[("", "Choose a period"), *CapPeriod.choices], required=False)
    scope = forms.ChoiceField(
        label="Counted",
        choices=[
            (CapScope.GLOBAL, "Across every channel and offer"),
            (CapScope.CHANNEL, "On one channel"),
            (CapScope.OFFER, "For one offer"),
        ],
        initial=CapScope.GLOBAL,
        required=False,
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(),
        required=False,
        empty_label="Choose a channel",
        help_text="When counted on one channel.",
    )
    offer = forms.ModelChoiceField(
        queryset=Offer.objects.none(),
        required=False,
        empty_label="Choose an offer",
        help_text="When counted for one offer.",
    )
    cooldown_hours = forms.IntegerField(
        label="Cooldown in hours",
        min_value=1,
        required=False,
        help_text="Hours before the same offer may go to the same customer again (168 is a week).",
    )
    suppress_unsubscribed = forms.BooleanField(label="Drop customers who unsubscribed", required=False)
    suppress_suppressed = forms.BooleanField(label="Drop suppressed customers (legal hold, fraud…)", required=False)

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channel, offer = self.fields["channel"], self.fields["offer"]
        assert isinstance(channel, forms.ModelChoiceField)
        assert isinstance(offer, forms.ModelChoiceField)
        channel.queryset = Channel.objects.filter(tenant=tenant).order_by("name")
        offer.queryset = Offer.objects.filter(tenant=tenant).order_by("name")

    @property
    def policy_type_value(self) -> str:
        value = str(self["policy_type"].value() or "")
        return value if value in PolicyType.values else PolicyType.FREQUENCY_CAP

    @staticmethod
    def initial_from(policy: ContactPolicy) -> dict[str, Any]:
        return {
            "name": policy.name,
            "description": policy.description,
            "status": policy.status,
            "policy_type": policy.policy_type,
            "max_count": policy.max_count,
            "period": policy.period,
            "scope": policy.scope or CapScope.GLOBAL,
            "channel": policy.channel_id,
            "offer": policy.offer_id,
            "cooldown_hours": policy.cooldown_hours,
            "suppress_unsubscribed": policy.suppress_unsubscribed,
            "suppress_suppressed": policy.suppress_suppressed,
        }

    def service_data(self) -> dict[str, Any]:
        """The common fields and those of the chosen kind only: the service refuses fields of
        another kind, and resets them when the kind changes."""
        data = self.cleaned_data
        out: dict[str, Any] = {key: data[key] for key in ("name", "description", "status", "policy_type")}
        kind = data["policy_type"]
        if kind == PolicyType.FREQUENCY_CAP:
            scope = data.get("scope") or CapScope.GLOBAL
            out.update(
                max_count=data.get("max_count"),
                period=data.get("period") or "",
                scope=scope,
                channel=data.get("channel") if scope == CapScope.CHANNEL else None,
                offer=data.get("offer") if scope == CapScope.OFFER else None,
            )
        elif kind == PolicyType.COOLDOWN:
            out["cooldown_hours"] = data.get("cooldown_hours")
        else:
            out.update(
                suppress_unsubscribed=bool(data.get("suppress_unsubscribed")),
                suppress_suppressed=bool(data.get("suppress_suppressed")),
            )
        return out


# --- decision flows ------------------------------------------------------------------------


class DecisionFlowForm(ServiceForm):
    name = forms.CharField(max_length=200)
    key = forms.SlugField(max_length=100, help_text="Unique in the tenant; the Recommend API can name the flow by it.")
    description = forms.CharField(required=False, widget=_prose(2))
    status = forms.ChoiceField(
        choices=FlowStatus.choices,
        initial=FlowStatus.DRAFT,
        help_text="Runs and the Recommend API use a flow once it is active and published.",
    )
    pipeline = forms.CharField(
        required=False,
        widget=_code(22),
        help_text="The ordered nodes, as JSON (camelCase, as in the API): inventory first; then qualify, filter "
        "and contact_policy nodes; one score, one rank, and output last. Empty: a sketch, saved but not publishable.",
    )

    @classmethod
    def error_location(cls, field: str, rest: str) -> str:
        """A pipeline error's node as people read it: "Node 3 (score), weights"."""
        match = _NODE_PATH.match(rest) if field == "pipeline" else None
        if match is None:
            return super().error_location(field, rest)
        index, node_type, tail = match.groups()
        label = f"Node {int(index) + 1}" + (f" ({node_type})" if node_type else "")
        return f"{label}, {camel(tail)}" if tail else label

    @staticmethod
    def initial_from(flow: DecisionFlow) -> dict[str, Any]:
        return {
            "name": flow.name,
            "key": flow.key,
            "description": flow.description,
            "status": flow.status,
            "pipeline": pipeline_to_text(flow.pipeline) if flow.pipeline else "",
        }

    @staticmethod
    def initial_new() -> dict[str, Any]:
        return {"status": FlowStatus.DRAFT, "pipeline": pipeline_to_text(DEFAULT_PIPELINE)}

    def clean_pipeline(self) -> list[Any]:
        raw = (self.cleaned_data.get("pipeline") or "").strip()
        if not raw:
            return []
        value = parse_json(raw, expect=list, what="The pipeline", example='[{"type": "inventory"}, …]')
        # the API's parser does the same to a request body: camelCase keys to snake_case
        nodes: list[Any] = underscoreize(value, **camel_settings.JSON_UNDERSCOREIZE)
        return nodes

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
