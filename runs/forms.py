"""Forms of the run pages. Validation that matters lives in ``runs.services.run_create``; the
form checks shape (a choice was made, the filter is JSON) and shows the service's errors next to
the field they belong to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from decisionflows.models import Channel, DecisionFlow
from decisionflows.selectors import batch_channels
from kaireon.forms import ServiceErrorsMixin
from kaireon.models import Tenant
from kaireon.rules import parse_filter
from runs.models import RunStatus
from segments.models import Segment

AUDIENCE_SEGMENT = "segment"
AUDIENCE_FILTER = "filter"

FILTER_EXAMPLE = (
    '{"all": [{"field": "tier", "operator": "eq", "value": "gold"}, {"field": "age", "operator": "gte", "value": 18}]}'
)


class RunCreateForm(ServiceErrorsMixin, forms.Form):
    # run_create's error fields → this form's fields ("filters.<path>" goes to the filter, prefixed
    # by the path). Its only error about the input as a whole is "no batch-compatible channels",
    # which belongs beside the channel choice.
    SERVICE_FIELDS = {
        "decision_flow_id": "decision_flow",
        "segment_id": "segment",
        "channel_ids": "channels",
        None: "channels",
    }

    decision_flow = forms.ChoiceField(label="Decision flow")
    audience = forms.ChoiceField(
        choices=[(AUDIENCE_SEGMENT, "Saved segment"), (AUDIENCE_FILTER, "Ad-hoc filter")],
        initial=AUDIENCE_SEGMENT,
        widget=forms.RadioSelect,
    )
    segment = forms.ChoiceField(label="Segment", required=False)
    filters = forms.CharField(label="Filter", required=False, widget=forms.Textarea)
    channels = forms.MultipleChoiceField(label="Channels", required=False, widget=forms.CheckboxSelectMultiple)
    name = forms.CharField(label="Run name", required=False, max_length=300)

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every flow and segment is listed (the ones that cannot run are shown disabled with the
        # reason), so a stale choice gets the service's own explanation rather than "invalid choice".
        self.flow_options: list[DecisionFlow] = list(DecisionFlow.objects.filter(tenant=tenant).order_by("name"))
        self.segment_options: list[Segment] = list(Segment.objects.filter(tenant=tenant).order_by("name"))
        self.channel_options: list[Channel] = list(batch_channels(tenant=tenant).order_by("name"))
        self.fields["decision_flow"].choices = [("", "Choose a decision flow")] + [  # type: ignore[attr-defined]
            (f.pk, f.name) for f in self.flow_options
        ]
        self.fields["segment"].choices = [("", "Choose a segment")] + [  # type: ignore[attr-defined]
            (s.pk, s.name) for s in self.segment_options
        ]
        self.fields["channels"].choices = [(c.pk, c.name) for c in self.channel_options]  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial.setdefault("channels", [c.pk for c in self.channel_options])
            runnable = [f for f in self.flow_options if f.runnable]
            if len(runnable) == 1:
                self.initial.setdefault("decision_flow", runnable[0].pk)

    @property
    def audience_value(self) -> str:
        value = self["audience"].value()
        return AUDIENCE_FILTER if value == AUDIENCE_FILTER else AUDIENCE_SEGMENT

    def selected_channels(self) -> set[str]:
        return {str(v) for v in (self["channels"].value() or [])}

    def clean_filters(self) -> dict[str, Any] | None:
        raw = (self.cleaned_data.get("filters") or "").strip()
        if self.cleaned_data.get("audience") != AUDIENCE_FILTER:
            return None
        if not raw:
            raise forms.ValidationError("Enter a filter as a JSON object, or {} for every customer.")
        return parse_filter(raw)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("audience") == AUDIENCE_SEGMENT and not cleaned.get("segment") and "segment" not in self.errors:
            self.add_error("segment", "Choose the segment to run, or switch to an ad-hoc filter.")
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        by_filter = data["audience"] == AUDIENCE_FILTER
        return {
            "decision_flow_id": data["decision_flow"],
            "segment_id": None if by_filter else data["segment"],
            "filters": data["filters"] if by_filter else None,
            "name": data["name"].strip(),
            "channel_ids": list(data["channels"]),
        }


class RunFilters:
    """The runs list's filters, read leniently from the query string (unknown values are ignored)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        status = str(params.get("status") or "")
        self.status = status if status in RunStatus.values else ""
        self.flow = str(params.get("flow") or "")[:40]
        self.segment = str(params.get("segment") or "")[:40]
        self.q = str(params.get("q") or "").strip()[:200]

    @property
    def active(self) -> bool:
        return bool(self.status or self.flow or self.segment or self.q)

    def apply(self, queryset: Any) -> Any:
        if self.status:
            queryset = queryset.filter(status=self.status)
        if self.flow:
            queryset = queryset.filter(decision_flow_id=self.flow)
        if self.segment == "adhoc":
            queryset = queryset.filter(segment__isnull=True)
        elif self.segment:
            queryset = queryset.filter(segment_id=self.segment)
        if self.q:
            queryset = queryset.filter(name__icontains=self.q)
        return queryset
