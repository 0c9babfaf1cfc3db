"""The rules of a campaign's configuration, shared by the services, the serializers' help text
and the admin: schedule fields per schedule type, volume constraints, file config.

The rules raise ``kaireon.errors.ValidationError`` keyed by the field (dotted into JSON
columns), which the API shows under the request's camelCase names (``fileConfig.s3Path``). The
two field validators (time zone, cron) raise Django's ``ValidationError``, as Django's model
fields and DRF's serializer fields expect of the validators they run.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from functools import cache
from typing import Any

from croniter import croniter
from django.core.exceptions import ValidationError as DjangoValidationError

from kaireon.errors import ValidationError
from kaireon.validators import INT32_MAX, in_range, range_message

# --- schedule ------------------------------------------------------------------------------

SCHEDULE_RULES = (
    "manual: runs only when triggered. daily: every day at scheduleTime. weekly: on "
    "scheduleDayOfWeek (required; 0=Sunday … 6=Saturday) at scheduleTime. monthly: on "
    'scheduleDayOfMonth (required; "1"-"28" or "last_working_day", the last Monday-Friday) at '
    "scheduleTime. cron: scheduleCron (required; five fields, minute hour day-of-month month "
    "day-of-week) — scheduleTime is not used. A scheduleCron sent with scheduleType absent or "
    "manual, daily, weekly or monthly governs the schedule (it is for frequencies the types do "
    "not cover): the campaign's scheduleType becomes cron. Every schedule is evaluated in "
    "scheduleTimezone. A day-of-week or day-of-month sent with a type that does not use it (or "
    "beside a scheduleCron) is a 400; one stored "
    "from an earlier type is cleared when the type changes. Local times that do not exist (spring "
    "forward) run at the first instant after the gap; repeated ones (fall back) run once, at the first."
)


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _zones():
        raise DjangoValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC).")


def validate_cron(value: str | None) -> None:
    if value is None:
        return
    fields = value.split()
    if len(fields) != 5 or not croniter.is_valid(value):
        raise DjangoValidationError(
            f"{value!r} is not a five-field cron expression (minute hour day-of-month month day-of-week, "
            "e.g. '0 9 * * 1')."
        )


# Which optional schedule field each type uses (the others must be empty).
SCHEDULE_FIELDS = {
    "schedule_day_of_week": "weekly",
    "schedule_day_of_month": "monthly",
    "schedule_cron": "cron",
}


def schedule_clean(values: Mapping[str, Any], *, given: Mapping[str, Any]) -> dict[str, Any]:
    """The schedule fields of a campaign as they will be stored, for ``values`` (the row after
    the change) and ``given`` (the fields of this request): a type-specific field is required
    for its type, rejected when sent with another type, cleared when left from an earlier one.
    A scheduleCron in the request governs whatever scheduleType says (the type becomes cron)."""
    schedule_type = values["schedule_type"]
    # docs/api-contract.md §2.4, §6.2: a scheduleCron sent beside manual, daily, weekly or monthly is
    # for a frequency those types do not cover: the expression is what the client
    # asked for, so it wins, and the stored type says so (one source of truth for the schedule).
    cron_governs = given.get("schedule_cron") not in ("", None)
    if cron_governs:
        schedule_type = "cron"
    cleaned: dict[str, Any] = {"schedule_type": schedule_type}
    errors: dict[str, str] = {}
    for field, owner in SCHEDULE_FIELDS.items():
        value = values.get(field)
        if value in ("", None):
            value = None
        if owner == schedule_type:
            if value is None:
                errors[field] = f"Required when scheduleType is {owner}."
        elif value is not None:
            # Beside a governing scheduleCron, the day the document's type would need (weekly's
            # scheduleDayOfWeek...) is accepted as written and dropped: the expression says when.
            if given.get(field) not in ("", None) and not cron_governs:
                errors[field] = f"Only used when scheduleType is {owner} (scheduleType is {schedule_type})."
            value = None
        cleaned[field] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


# --- volume constraints --------------------------------------------------------------------

VOLUME_KEYS = ("max_total_per_run", "max_per_offer", "max_per_channel")
VOLUME_HELP = (
    "{maxTotalPerRun?, maxPerOffer?, maxPerChannel?}: integers from 1 to 2,147,483,647, each optional; "
    "no other keys. Global to each run, never exceeded, keeping the highest-scored recommendations."
)


def volume_constraints_clean(value: Any) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError({"volume_constraints": "Must be an object."})
    errors: dict[str, str] = {}
    for key in value:
        if key not in VOLUME_KEYS:
            errors[f"volume_constraints.{key}"] = "Unknown key: use maxTotalPerRun, maxPerOffer or maxPerChannel."
    cleaned: dict[str, int] = {}
    for key in VOLUME_KEYS:
        if key not in value or value[key] is None:
            continue
        number = value[key]
        if not in_range(number, 1, INT32_MAX):
            errors[f"volume_constraints.{key}"] = range_message(1, INT32_MAX, got=number)
        else:
            cleaned[key] = number
    if errors:
        raise ValidationError(errors)
    return cleaned


# --- file config ---------------------------------------------------------------------------

FILE_FORMATS = ("csv", "json")
DESTINATIONS = ("download", "s3")
# What a result file row may carry: one recommendation of one customer.
FILE_COLUMNS = (
    "customer_id",
    "external_id",
    "email",
    "first_name",
    "last_name",
    "offer_id",
    "offer_key",
    "offer_name",
    "channel",
    "channel_type",
    "creative",
    "score",
    "rank",
)
# The creative's rendered text: only with includePersonalization.
PERSONALIZATION_COLUMNS = ("subject", "content")
DEFAULT_FILE_COLUMNS = ["customer_id", "offer_name", "channel", "score"]
_S3_PATH = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^\s]*)?$")
FILE_CONFIG_HELP = (
    "{format, columns[], includePersonalization, destination, s3Path?}. format: csv (default) or json. "
    f"columns: from {', '.join(FILE_COLUMNS)}; {' and '.join(PERSONALIZATION_COLUMNS)} too when "
    f"includePersonalization is true (default false); default {', '.join(DEFAULT_FILE_COLUMNS)}. "
    "destination: download (default) or s3, which needs s3Path as s3://bucket/prefix. "
    "escapeFormulas (default true): CSV text cells starting with = + - @ tab or CR get a leading ' "
    "so spreadsheets show them as text; false for a machine consumer that wants the raw values."
)


def file_config_clean(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError({"file_config": "Must be an object."})
    known = ("format", "columns", "include_personalization", "destination", "s3_path", "escape_formulas")
    errors: dict[str, str] = {}
    for key in value:
        if key not in known:
            errors[f"file_config.{key}"] = (
                "Unknown key: use format, columns, includePersonalization, destination, s3Path, escapeFormulas."
            )
    fmt = value.get("format", "csv")
    if fmt not in FILE_FORMATS:
        errors["file_config.format"] = f"Use csv or json (got {fmt!r})."
    personalize = value.get("include_personalization", False)
    if not isinstance(personalize, bool):
        errors["file_config.include_personalization"] = "Must be true or false."
    escape_formulas = value.get("escape_formulas", True)
    if not isinstance(escape_formulas, bool):
        errors["file_config.escape_formulas"] = "Must be true or false."
    columns = value.get("columns", DEFAULT_FILE_COLUMNS)
    allowed = FILE_COLUMNS + (PERSONALIZATION_COLUMNS if personalize is True else ())
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        errors["file_config.columns"] = "Must be a non-empty list of column names."
    else:
        personal = [c for c in columns if c in PERSONALIZATION_COLUMNS and c not in allowed]
        unknown = [c for c in columns if c not in allowed and c not in personal]
        duplicates = sorted({c for c in columns if columns.count(c) > 1})
        if personal:
            errors["file_config.columns"] = (
                f"{', '.join(personal)}: personalization columns need includePersonalization: true."
            )
        elif unknown:
            errors["file_config.columns"] = f"Unknown columns {', '.join(unknown)}; use {', '.join(allowed)}."
        elif duplicates:
            errors["file_config.columns"] = f"Repeated columns: {', '.join(duplicates)}."
    destination = value.get("destination", "download")
    s3_path = value.get("s3_path")
    if destination not in DESTINATIONS:
        errors["file_config.destination"] = f"Use download or s3 (got {destination!r})."
    elif destination == "s3":
        if not s3_path:
            errors["file_config.s3_path"] = "Required when destination is s3 (s3://bucket/prefix)."
        elif not isinstance(s3_path, str) or not _S3_PATH.match(s3_path):
            errors["file_config.s3_path"] = f"Use the form s3://bucket/prefix (got {s3_path!r})."
    elif s3_path not in (None, ""):
        errors["file_config.s3_path"] = "Only used when destination is s3."
    if errors:
        raise ValidationError(errors)
    cleaned: dict[str, Any] = {
        "format": fmt,
        "columns": columns,
        "include_personalization": personalize,
        "destination": destination,
        "escape_formulas": escape_formulas,
    }
    if destination == "s3":
        cleaned["s3_path"] = s3_path
    return cleaned
