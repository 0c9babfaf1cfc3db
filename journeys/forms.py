"""Forms of the journey pages. The rules live in journeys.services (plan_create / plan_update /
plan_publish, execution_run_bulk_execute, runs_bulk_cancel); these forms check shape (JSON that parses, a
choice made) and put the services' errors beside the field they are about."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.utils.text import slugify

from journeys.models import ExecutionRunStatus, Plan, PlanStatus
from kaireon.forms import ServiceErrorsMixin, parse_json_text
from kaireon.models import Tenant
from kaireon.validators import validate_datetime
from segments.models import Segment

STEPS_EXAMPLE = """[
  {"id": "hello", "type": "send", "channelId": "ch_…", "offerId": "off_…", "next": "pause"},
  {"id": "pause", "type": "wait", "duration": 259200, "next": "check"},
  {"id": "check", "type": "branch",
   "conditions": [{"condition": {"field": "variables.score", "operator": "gt", "value": 0.5}, "next": "won"}],
   "default": "done"},
  {"id": "won", "type": "end", "outcome": "converted"},
  {"id": "done", "type": "end", "outcome": "no_response"}
]"""

# The path of a publish error about one step: "steps[3]".
STEP_PATH = re.compile(r"^steps\[(?P<index>\d+)\]$")


def parse_json(raw: str, *, expect: type, what: str) -> Any:
    value = parse_json_text(raw)
    if not isinstance(value, expect):
        raise forms.ValidationError(what)
    return value


# --- plans ---------------------------------------------------------------------------------


class PlanForm(ServiceErrorsMixin, forms.Form):
    """Create a plan, or edit one (name, description, status once published, the steps)."""

    name = forms.CharField(label="Name", max_length=200)
    key = forms.SlugField(label="Key", max_length=100, required=False)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea)
    status = forms.ChoiceField(label="Status", required=False, choices=[])
    steps = forms.CharField(label="Steps", widget=forms.Textarea)

    def __init__(self, *args: Any, plan: Plan | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan
        if plan is None or plan.published_version is None:
            # A plan becomes active when it is published; until then it is a draft.
            del self.fields["status"]
        else:
            self.fields["status"].choices = [  # type: ignore[attr-defined]
                (value, label) for value, label in PlanStatus.choices if value != PlanStatus.DRAFT
            ]
        if plan is not None:
            del self.fields["key"]  # the key names the plan in the API; it does not change

    @property
    def has_status(self) -> bool:
        return "status" in self.fields

    @property
    def has_key(self) -> bool:
        return "key" in self.fields

    def clean_steps(self) -> list[Any]:
        raw = (self.cleaned_data.get("steps") or "").strip()
        return parse_json(raw, expect=list, what="The steps must be a JSON list of step objects: [{…}, {…}].")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.has_key and not cleaned.get("key") and cleaned.get("name") and "key" not in self.errors:
            key = slugify(cleaned["name"])[:100]
            if not key:
                self.add_error("key", "Give a key: letters, digits, hyphens or underscores.")
            cleaned["key"] = key
        return cleaned

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        out: dict[str, Any] = {
            "name": data["name"].strip(),
            "description": data.get("description") or "",
            "steps": data["steps"],
        }
        if self.has_key:
            out["key"] = data["key"]
        if self.has_status and data.get("status"):
            out["status"] = data["status"]
        return out


def plan_form_initial(plan: Plan, steps: list[Any]) -> dict[str, Any]:
    return {
        "name": plan.name,
        "description": plan.description,
        "status": plan.status,
        "steps": json.dumps(steps, indent=2, ensure_ascii=False),
    }


# --- bulk enrol and cancel -----------------------------------------------------------------


class BulkEnrolForm(ServiceErrorsMixin, forms.Form):
    """A segment to enrol in the plan's published version, with variables every run shares."""

    SERVICE_FIELDS = {"segment_id": "segment", "contact_ids": "segment"}

    # Checked in clean_segment, which says what to do rather than "required" / "invalid choice".
    segment = forms.CharField(label="Segment", required=False, max_length=40)
    variables = forms.CharField(label="Shared variables", required=False, widget=forms.Textarea)

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.segment_options: list[Segment] = list(Segment.objects.filter(tenant=tenant).order_by("name"))

    def clean_variables(self) -> dict[str, Any]:
        raw = (self.cleaned_data.get("variables") or "").strip()
        if not raw:
            return {}
        return parse_json(raw, expect=dict, what='Shared variables are a JSON object, such as {"source": "spring"}.')

    def clean_segment(self) -> Segment:
        value = self.cleaned_data.get("segment")
        segment = next((s for s in self.segment_options if s.pk == value), None)
        if segment is None:
            raise forms.ValidationError("Choose the segment whose customers to enrol.")
        if not segment.has_view:
            raise forms.ValidationError("This segment has no saved filters yet; save it before enrolling it.")
        return segment


class BulkCancelForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=2000)


class CancelRunForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=2000, required=False)


# --- the runs list's filters ---------------------------------------------------------------

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]


class RunFilterForm(forms.Form):
    """The run list filters (docs/api-contract.md §3.4) from the query string. A bad value is shown beside its field
    and left out of the filter; the others still apply."""

    status = forms.MultipleChoiceField(
        label="Status", required=False, choices=ExecutionRunStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    plan = forms.ChoiceField(label="Journey", required=False)
    contact = forms.CharField(label="Contact ID", required=False, max_length=128)
    started_after = forms.DateTimeField(
        label="Started from", required=False, input_formats=DATETIME_FORMATS, validators=[validate_datetime]
    )
    started_before = forms.DateTimeField(
        label="Started before", required=False, input_formats=DATETIME_FORMATS, validators=[validate_datetime]
    )

    def __init__(self, *args: Any, plans: list[Plan], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plans = plans
        self.fields["plan"].choices = [("", "Any journey")] + [(p.pk, p.name) for p in plans]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        after, before = cleaned.get("started_after"), cleaned.get("started_before")
        if after and before and after >= before:
            self.add_error("started_before", "Must be later than “Started from”.")
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The valid filters, as journeys.selectors.runs_matching takes them."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        out: dict[str, Any] = {}
        if data.get("status"):
            out["status"] = list(data["status"])
        for field, key in (
            ("plan", "plan_id"),
            ("contact", "contact_id"),
            ("started_after", "started_after"),
            ("started_before", "started_before"),
        ):
            if data.get(field) and field not in self.errors:
                out[key] = data[field].strip() if isinstance(data[field], str) else data[field]
        return out

    def selected_statuses(self) -> set[str]:
        return {str(v) for v in (self["status"].value() or [])}

    @property
    def active(self) -> bool:
        return any(self.data.get(name) for name in self.fields)
