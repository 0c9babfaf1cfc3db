"""Forms of the segments and customers pages. The rules live in the services
(``segments.services.segment_create`` / ``segment_update``); the forms check shape (a name,
JSON that is an object) and put the services' errors next to the field they are about. The
filter JSON is read by ``kaireon.rules.parse_filter``, the same reader as the new-run page's
ad-hoc filter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import forms

from kaireon.forms import ServiceErrorsMixin
from kaireon.paging import query_int
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
