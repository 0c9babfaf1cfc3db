"""Forms of the campaign pages. The rules live in ``campaigns.services`` (and ``campaigns.config``):
the form checks shape (a number is a number), turns the flat HTML fields into the service's data
(``volume_constraints`` and ``file_config`` objects, only the schedule fields the type uses) and
puts the service's errors beside the field they are about."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from functools import cache
from types import SimpleNamespace
from typing import Any

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.functional import cached_property

from campaigns import config
from campaigns.models import DAY_OF_MONTH_CHOICES, Campaign, CampaignStatus, DeliveryStatus, ScheduleType
from decisionflows.models import Channel, DecisionFlow
from decisionflows.selectors import batch_channels
from kaireon import errors as domain_errors
from kaireon.forms import ServiceErrorsMixin
from kaireon.models import Tenant
from kaireon.paging import query_int
from segments.models import Segment

# 0 = Sunday (docs/api-contract.md §2.2)
WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
DAY_OF_WEEK_CHOICES = [(str(index), name) for index, name in enumerate(WEEKDAYS)]
COLUMN_LABELS = {
    "customer_id": "Customer id",
    "external_id": "External id",
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "offer_id": "Offer id",
    "offer_key": "Offer key",
    "offer_name": "Offer name",
    "channel": "Channel",
    "channel_type": "Channel type",
    "creative": "Creative",
    "score": "Score",
    "rank": "Rank",
}
SCHEDULE_FIELDS = (
    "schedule_type",
    "schedule_time",
    "schedule_timezone",
    "schedule_day_of_week",
    "schedule_day_of_month",
    "schedule_cron",
)
VOLUME_FIELDS = config.VOLUME_KEYS  # max_total_per_run, max_per_offer, max_per_channel
FILE_FIELDS = {
    "format": "file_format",
    "columns": "file_columns",
    "include_personalization": "file_include_personalization",
    "destination": "file_destination",
    "s3_path": "file_s3_path",
}


@cache
def timezone_groups() -> list[tuple[str, list[str]]]:
    """Every IANA zone, grouped by region for the select ("UTC" and other one-word zones first)."""
    groups: dict[str, list[str]] = {}
    for zone in sorted(zoneinfo.available_timezones()):
        region = zone.split("/", 1)[0] if "/" in zone else ""
        if region in ("Etc", "SystemV", "US", "Canada", "Brazil", "Mexico", "Chile") or zone.startswith("posix"):
            continue  # aliases: the region/city names say the same
        groups.setdefault(region, []).append(zone)
    general = sorted(groups.pop("", []), key=lambda zone: (zone != "UTC", zone))
    return [("General", general), *sorted(groups.items())]


def _optional(value: Any) -> Any:
    return None if value in ("", None) else value


class CampaignForm(ServiceErrorsMixin, forms.Form):
    """Create and edit: every campaign field of docs/api-contract.md §2.2, flattened for HTML."""

    # campaign_create / campaign_update error keys → this form's fields (the rest keep their name,
    # or are shown above the form when the form has no such field).
    SERVICE_FIELDS = {
        "decision_flow_id": "decision_flow",
        "segment_id": "segment",
        "channel_ids": "channels",
        "volume_constraints": "max_total_per_run",
        "file_config": "file_enabled",
        **{f"volume_constraints.{key}": key for key in VOLUME_FIELDS},
        **{f"file_config.{key}": field for key, field in FILE_FIELDS.items()},
    }

    name = forms.CharField(label="Campaign name", required=False, max_length=300)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea)
    decision_flow = forms.ChoiceField(label="Decision flow")
    segment = forms.ChoiceField(label="Segment")
    channels = forms.MultipleChoiceField(label="Channels", required=False)
    status = forms.ChoiceField(label="Status", choices=CampaignStatus.choices, initial=CampaignStatus.DRAFT)
    schedule_type = forms.ChoiceField(label="Schedule", choices=ScheduleType.choices, initial=ScheduleType.MANUAL)
    schedule_time = forms.CharField(label="Time", required=False, initial="09:00", max_length=5)
    schedule_timezone = forms.CharField(label="Time zone", required=False, initial="UTC", max_length=64)
    schedule_day_of_week = forms.ChoiceField(
        label="Day of the week", required=False, choices=[("", "Choose a day"), *DAY_OF_WEEK_CHOICES]
    )
    schedule_day_of_month = forms.ChoiceField(
        label="Day of the month", required=False, choices=[("", "Choose a day"), *DAY_OF_MONTH_CHOICES]
    )
    schedule_cron = forms.CharField(label="Cron expression", required=False, max_length=120)
    max_total_per_run = forms.IntegerField(label="Most recommendations per run", required=False)
    max_per_offer = forms.IntegerField(label="Most per offer", required=False)
    max_per_channel = forms.IntegerField(label="Most per channel", required=False)
    file_enabled = forms.BooleanField(label="Write a result file after each run", required=False)
    file_format = forms.ChoiceField(
        label="Format", required=False, choices=[("csv", "CSV"), ("json", "JSON Lines")], initial="csv"
    )
    file_columns = forms.MultipleChoiceField(
        label="Columns", required=False, choices=[(c, COLUMN_LABELS.get(c, c)) for c in config.FILE_COLUMNS]
    )
    file_include_personalization = forms.BooleanField(label="Include personalization", required=False)
    file_destination = forms.ChoiceField(
        label="Destination", required=False, choices=[("download", "Download"), ("s3", "Amazon S3")], initial="download"
    )
    file_s3_path = forms.CharField(label="S3 path", required=False, max_length=500)

    def __init__(self, *args: Any, tenant: Tenant, instance: Campaign | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_for(instance)
        super().__init__(*args, **kwargs)
        self.instance = instance
        # Every flow and segment is listed, so a stale choice gets the service's explanation.
        self.flow_options: list[DecisionFlow] = list(DecisionFlow.objects.filter(tenant=tenant).order_by("name"))
        self.segment_options: list[Segment] = list(Segment.objects.filter(tenant=tenant).order_by("name"))
        channels = batch_channels(tenant=tenant)
        if instance is not None and instance.channel_ids:
            # a chosen channel that was since deactivated stays visible (the service says why it fails)
            channels = channels | Channel.objects.filter(tenant=tenant, pk__in=instance.channel_ids)
        self.channel_options: list[Channel] = list(channels.distinct().order_by("name"))
        self.fields["decision_flow"].choices = [("", "Choose a decision flow")] + [  # type: ignore[attr-defined]
            (f.pk, f.name) for f in self.flow_options
        ]
        self.fields["segment"].choices = [("", "Choose a segment")] + [  # type: ignore[attr-defined]
            (s.pk, s.name) for s in self.segment_options
        ]
        self.fields["channels"].choices = [(c.pk, c.name) for c in self.channel_options]  # type: ignore[attr-defined]
        if not self.is_bound and instance is None:
            self.initial.setdefault("file_columns", list(config.DEFAULT_FILE_COLUMNS))
            runnable = [f for f in self.flow_options if f.runnable]
            if len(runnable) == 1:
                self.initial.setdefault("decision_flow", runnable[0].pk)

    # --- what the template reads ------------------------------------------------------------

    def value_of(self, name: str) -> Any:
        value = self[name].value()
        return "" if value is None else value

    @cached_property
    def values(self) -> dict[str, Any]:
        """Each field's current value (posted, else initial), "" for none: what the inputs show."""
        return {name: self.value_of(name) for name in self.fields}

    def selected(self, name: str) -> set[str]:
        return {str(v) for v in (self[name].value() or [])}

    @property
    def selected_channels(self) -> set[str]:
        return self.selected("channels")

    @property
    def selected_columns(self) -> set[str]:
        return self.selected("file_columns")

    @property
    def schedule_type_value(self) -> str:
        value = str(self.value_of("schedule_type"))
        return value if value in ScheduleType.values else ScheduleType.MANUAL

    @property
    def timezone_groups(self) -> list[tuple[str, list[str]]]:
        return timezone_groups()

    @property
    def column_options(self) -> list[tuple[str, str]]:
        return [(c, COLUMN_LABELS.get(c, c)) for c in config.FILE_COLUMNS]

    def is_checked(self, name: str) -> bool:
        return bool(self.fields[name].widget.value_from_datadict(self.data, self.files, self.add_prefix(name)))

    @property
    def file_enabled_value(self) -> bool:
        return self.is_checked("file_enabled") if self.is_bound else bool(self.initial.get("file_enabled"))

    @property
    def personalization_value(self) -> bool:
        if self.is_bound:
            return self.is_checked("file_include_personalization")
        return bool(self.initial.get("file_include_personalization"))

    # --- to the service -----------------------------------------------------------------------

    def service_data(self) -> dict[str, Any]:
        """The service's ``data``: every field, as the API would send them (docs/api-contract.md §2.2 names)."""
        data = self.cleaned_data
        schedule_type = data["schedule_type"]
        out: dict[str, Any] = {
            "description": data["description"].strip(),
            "decision_flow_id": data["decision_flow"],
            "segment_id": data["segment"],
            "channel_ids": list(data["channels"]),
            "status": data["status"],
            "schedule_type": schedule_type,
            "schedule_time": data["schedule_time"].strip() or "09:00",
            "schedule_timezone": data["schedule_timezone"].strip() or "UTC",
            # only the field the type uses: the others are cleared, not "sent with another type"
            "schedule_day_of_week": _day_of_week(data["schedule_day_of_week"])
            if schedule_type == ScheduleType.WEEKLY
            else None,
            "schedule_day_of_month": _optional(data["schedule_day_of_month"])
            if schedule_type == ScheduleType.MONTHLY
            else None,
            "schedule_cron": _optional(data["schedule_cron"].strip()) if schedule_type == ScheduleType.CRON else None,
            "volume_constraints": {k: data[k] for k in VOLUME_FIELDS if data.get(k) is not None} or None,
            "file_config": self._file_config(),
        }
        name = data["name"].strip()
        if name or self.instance is not None:  # create: an empty name is generated by the service
            out["name"] = name
        return out

    def _file_config(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("file_enabled"):
            return None
        file_config: dict[str, Any] = {
            "format": data["file_format"] or "csv",
            "columns": list(data["file_columns"]),
            "include_personalization": bool(data["file_include_personalization"]),
            "destination": data["file_destination"] or "download",
        }
        if file_config["destination"] == "s3":
            file_config["s3_path"] = data["file_s3_path"].strip()
        # Not on the form (an API setting for machine consumers): an edit here keeps it.
        if self.instance is not None and (self.instance.file_config or {}).get("escape_formulas") is False:
            file_config["escape_formulas"] = False
        return file_config

    @classmethod
    def error_message(cls, message: str) -> str:
        return _plain(message)  # the service speaks the API's names


def _day_of_week(value: Any) -> int | None:
    return int(value) if value not in ("", None) else None


def initial_for(campaign: Campaign) -> dict[str, Any]:
    """The form's initial values for an existing campaign."""
    volume = campaign.volume_constraints or {}
    file_config = campaign.file_config or {}
    initial: dict[str, Any] = {
        "name": campaign.name,
        "description": campaign.description,
        "decision_flow": campaign.decision_flow_id,
        "segment": campaign.segment_id,
        "channels": list(campaign.channel_ids or []),
        "status": campaign.status,
        "schedule_type": campaign.schedule_type,
        "schedule_time": campaign.schedule_time,
        "schedule_timezone": campaign.schedule_timezone,
        "schedule_day_of_week": "" if campaign.schedule_day_of_week is None else str(campaign.schedule_day_of_week),
        "schedule_day_of_month": campaign.schedule_day_of_month or "",
        "schedule_cron": campaign.schedule_cron or "",
        **{key: volume.get(key) for key in VOLUME_FIELDS},
        "file_enabled": bool(campaign.file_config),
        "file_format": file_config.get("format", "csv"),
        "file_columns": list(file_config.get("columns") or config.DEFAULT_FILE_COLUMNS),
        "file_include_personalization": bool(file_config.get("include_personalization")),
        "file_destination": file_config.get("destination", "download"),
        "file_s3_path": file_config.get("s3_path", ""),
    }
    return initial


# --- the schedule preview -------------------------------------------------------------------


def schedule_from(params: Mapping[str, Any]) -> tuple[SimpleNamespace | None, dict[str, list[str]]]:
    """A schedule (the ScheduleLike of ``campaigns.schedules``) from the form's raw fields,
    checked with the model's validators and ``config.schedule_clean``; or its errors by field."""
    schedule_type = str(params.get("schedule_type") or ScheduleType.MANUAL)
    values: dict[str, Any] = {
        "schedule_type": schedule_type,
        "schedule_time": str(params.get("schedule_time") or "").strip() or "09:00",
        "schedule_timezone": str(params.get("schedule_timezone") or "").strip() or "UTC",
        "schedule_day_of_week": None,
        "schedule_day_of_month": None,
        "schedule_cron": None,
    }
    errors: dict[str, list[str]] = {}
    if schedule_type == ScheduleType.WEEKLY:
        raw = str(params.get("schedule_day_of_week") or "")
        day = query_int(raw)
        if raw and (day is None or day > 6):
            errors["schedule_day_of_week"] = ["Choose a day of the week."]
        values["schedule_day_of_week"] = day
    elif schedule_type == ScheduleType.MONTHLY:
        values["schedule_day_of_month"] = _optional(str(params.get("schedule_day_of_month") or ""))
    elif schedule_type == ScheduleType.CRON:
        values["schedule_cron"] = _optional(str(params.get("schedule_cron") or "").strip())
    candidate = Campaign(**values)
    exclude = [f.name for f in Campaign._meta.get_fields() if f.name not in SCHEDULE_FIELDS]
    try:
        candidate.clean_fields(exclude=exclude)
    except DjangoValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if not errors:
        try:
            config.schedule_clean(values, given=values)
        except domain_errors.ValidationError as exc:
            for error in exc.errors:
                errors.setdefault(error.field or "", []).append(_plain(error.message))
    if errors:
        return None, errors
    return SimpleNamespace(**values), {}


def _plain(message: str) -> str:
    """The service speaks the API's names; the form says it in words."""
    return message.replace("scheduleType", "the schedule")


# flash messages (trigger, status changes): a service error in one sentence
error_text = CampaignForm.error_text


# --- list and work-queue filters --------------------------------------------------------------


class CampaignFilters:
    """The list's filters, read leniently from the query string (unknown values are ignored)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        status = str(params.get("status") or "")
        self.status = status if status in CampaignStatus.values else ""
        self.q = str(params.get("q") or "").strip()[:200]

    @property
    def active(self) -> bool:
        return bool(self.status or self.q)

    def apply(self, queryset: Any) -> Any:
        if self.status:
            queryset = queryset.filter(status=self.status)
        if self.q:
            queryset = queryset.filter(name__icontains=self.q)
        return queryset


WORK_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.DONE)


class WorkQueueFilters:
    """The work queue's filters: status pending (default) or done, and one manual channel."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        status = str(params.get("status") or DeliveryStatus.PENDING)
        self.status = status if status in WORK_STATUSES else DeliveryStatus.PENDING
        self.channel = str(params.get("channel") or "")[:40]

    @property
    def active(self) -> bool:
        return self.status != DeliveryStatus.PENDING or bool(self.channel)
