"""Forms of the segments and customers pages. The rules live in the services
(``segments.services.segment_create`` / ``segment_update``, ``recommend_for_customer``); the
forms check shape (a name, JSON that is an object) and put the services' errors next to the
field they are about. The filter JSON is read by ``kaireon.rules.parse_filter``, the same reader
as the new-run page's ad-hoc filter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import forms

from decisionflows.models import Channel, DecisionFlow
from kaireon.forms import ServiceErrorsMixin
from kaireon.models import Tenant
from kaireon.pagination import query_int
from kaireon.rules import parse_filter
from segments.models import Segment

FILTER_HELP_EXAMPLE = (
    '{"all": [{"field": "age", "operator": "gte", "value": 30}, {"field": "tier", "operator": "eq", "value": "gold"}]}'
)


class SegmentForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea)
    filters = forms.CharField(label="Filter", required=False, widget=forms.Textarea)

    @classmethod
    def for_segment(cls, segment: Segment) -> SegmentForm:
        return cls(
            initial={
                "name": segment.name,
                "description": segment.description,
                "filters": json.dumps(segment.filters, indent=2, ensure_ascii=False) if segment.filters else "{}",
            }
        )

    def clean_filters(self) -> dict[str, Any]:
        raw = str(self.cleaned_data.get("filters") or "").strip()
        if not raw:
            return {}  # every customer
        return parse_filter(raw)

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"name": data["name"], "description": data["description"].strip(), "filters": data["filters"]}


class CustomerSearch:
    """The customers page's query string, read leniently: ``q`` (what to look for), ``by``
    (externalId / email prefix, or a name's words) and ``after`` (the keyset cursor)."""

    BY_CHOICES = (
        ("external_id", "externalId starts with"),
        ("email", "Email starts with"),
        ("name", "Name contains"),
    )

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.q = str(params.get("q") or "").strip()[:200]
        by = str(params.get("by") or "")
        # no choice made: guess (an "@" is an email); an externalId guess that finds nobody
        # may fall back to names (see segments.pages.customer_list)
        self.guessed = by not in dict(self.BY_CHOICES)
        if self.guessed:
            by = "email" if "@" in self.q else "external_id"
        self.by = by
        self.after = query_int(str(params.get("after") or "")) or 0

    @property
    def active(self) -> bool:
        return bool(self.q)


class RecommendForm(ServiceErrorsMixin, forms.Form):
    """The customer page's "recommend now" box: a published flow and, optionally, a channel."""

    SERVICE_FIELDS = {"decision_flow_id": "decision_flow"}
    NOT_FOUND_FIELDS = (("Decision flow", "decision_flow"),)

    decision_flow = forms.ChoiceField(label="Decision flow")
    channel = forms.ChoiceField(label="Channel", required=False)

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flow_options: list[DecisionFlow] = list(DecisionFlow.objects.filter(tenant=tenant).order_by("name"))
        self.channel_options: list[Channel] = list(Channel.objects.filter(tenant=tenant).active().order_by("name"))
        self.fields["decision_flow"].choices = [("", "Choose a decision flow")] + [  # type: ignore[attr-defined]
            (f.pk, f.name) for f in self.flow_options
        ]
        self.fields["channel"].choices = [("", "Every active channel")] + [  # type: ignore[attr-defined]
            (c.pk, c.name) for c in self.channel_options
        ]
        if not self.is_bound:
            runnable = [f for f in self.flow_options if f.runnable]
            if runnable:
                self.initial.setdefault("decision_flow", runnable[0].pk)

    def selected_flow(self) -> DecisionFlow:
        chosen = self.cleaned_data["decision_flow"]
        return next(f for f in self.flow_options if f.pk == chosen)

    def selected_channel(self) -> str | None:
        return self.cleaned_data.get("channel") or None
