"""Template helpers shared by every page: numbers, durations, status badges, navigation links."""

from __future__ import annotations

import json
import math
from typing import Any

from django import template
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# Status → tone. Tones map to badge colours in app.css; every status the apps use
# (runs, imports, campaigns, journeys) gets a readable label even when it has no tone here.
STATUS_TONES: dict[str, str] = {
    "pending": "neutral",
    "queued": "neutral",
    "draft": "neutral",
    "running": "info",
    "active": "ok",
    "waiting": "info",
    "completed": "ok",
    "completed_with_errors": "warn",
    "paused": "warn",
    "failed": "bad",
    "cancelled": "muted",
    "inactive": "muted",
    "archived": "muted",
    "exited": "muted",
}


@register.filter
def number(value: Any, decimals: int = 0) -> str:
    """12450 → "12,450"; 2.345 with 2 → "2.35"; None and non-numbers → "—"."""
    if value is None or value == "":
        return "—"
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(as_float):
        return "—"
    decimals = int(decimals)
    if decimals <= 0:
        return f"{round(as_float):,}"
    return f"{as_float:,.{decimals}f}"


@register.filter
def percent(value: Any, decimals: int = 1) -> str:
    """34.2 → "34.2%" (the value is already a percentage)."""
    if value is None or value == "":
        return "—"
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return str(value)
    text = f"{as_float:.{int(decimals)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


@register.filter
def duration(seconds: Any) -> str:
    """Seconds as people read them: "0.4 s", "42 s", "3 min 05 s", "2 h 07 min"; None → "—"."""
    if seconds is None or seconds == "":
        return "—"
    try:
        total = float(seconds)
    except (TypeError, ValueError):
        return "—"
    if total < 0 or not math.isfinite(total):
        return "—"
    if total < 10:
        return f"{total:.1f} s"
    whole = round(total)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@register.filter
def rate(per_second: Any) -> str:
    """Customers per second: 1234.5 → "1,235/s"; None → "—"."""
    if per_second is None:
        return "—"
    try:
        value = float(per_second)
    except (TypeError, ValueError):
        return "—"
    return f"{value:,.1f}/s" if value < 10 else f"{round(value):,}/s"


@register.filter
def status_label(status: Any) -> str:
    """Status to label: "completed_with_errors" → "Completed with errors"."""
    text = str(status or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@register.simple_tag
def status_badge(status: Any, element_id: str = "") -> str:
    """A pill coloured by the status' tone, with its label as text (colour is never the only cue)."""
    key = str(status or "")
    tone = STATUS_TONES.get(key, "neutral")
    return format_html(
        '<span class="badge badge-{} status-{}"{}><span class="badge-dot" aria-hidden="true"></span>{}</span>',
        tone,
        key,
        format_html(' id="{}"', element_id) if element_id else "",
        status_label(key),
    )


@register.filter
def bar_width(value: Any, maximum: Any) -> str:
    """A bar's CSS width in percent of the largest bar (at least a sliver for non-zero values)."""
    try:
        share = 100.0 * float(value) / float(maximum)
    except (TypeError, ValueError, ZeroDivisionError):
        return "0"
    if share > 0:
        share = max(share, 0.5)
    return f"{min(share, 100.0):.2f}"


@register.simple_tag(takes_context=True)
def nav_link(context: template.Context, path: str, label: str) -> str:
    """A main-navigation link, rendered only when ``path`` is served by this deployment (the
    catalogue, segment and campaign pages arrive app by app); marked current when it is."""
    try:
        resolve(path)
    except Resolver404:
        return ""
    request = context.get("request")
    current = request.path if request is not None else ""
    active = current == path if path == "/" else current.startswith(path)
    return format_html(
        '<a href="{}" class="nav-link{}"{}>{}</a>',
        path,
        " is-active" if active else "",
        mark_safe(' aria-current="page"') if active else "",
        label,
    )


@register.filter
def pretty_json(value: Any) -> str:
    """A JSON value indented for reading (escaped by the template like any text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


CHANNEL_TYPES = {
    "email": "Email",
    "sms": "SMS",
    "push": "Push",
    "in_app": "In-app",
    "web": "Web",
    "webhook": "Webhook",
    "direct_mail": "Direct mail",
    "call_center": "Call centre",
}


@register.filter
def channel_type(value: Any) -> str:
    """Channel type to label: "in_app" → "In-app", "sms" → "SMS"."""
    return CHANNEL_TYPES.get(str(value), status_label(value))


@register.filter
def ago(value: Any) -> str:
    """A past moment, briefly: "just now", "12 min ago", "3 h ago", "2 days ago", else the date."""
    if value is None:
        return "—"
    seconds = (timezone.now() - value).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 7 * 86400:
        days = int(seconds // 86400)
        return f"{days} day{'s' if days != 1 else ''} ago"
    return date_format(timezone.localtime(value), "j M Y")


@register.simple_tag
def page_url(path: str) -> str:
    """``path`` when this deployment serves it, else "" (for links to pages other apps add)."""
    try:
        resolve(path)
    except Resolver404:
        return ""
    return path


@register.filter
def progress_of(run: Any) -> float:
    """The percentage a run's progress bar shows: its own, except 0 for a run that failed or
    was cancelled before it counted a single customer (the model says 100 % for any finished
    run without customers, which reads as success on a bar)."""
    if not run.total_customers and run.status in ("failed", "cancelled"):
        return 0.0
    return float(run.percent)


@register.filter
def floor_to(value: Any, step: int = 10) -> int:
    """42.5 with 10 → 40: what a live region announces, so it speaks once per step, not per poll."""
    try:
        return int(float(value) // int(step) * int(step))
    except (TypeError, ValueError, ZeroDivisionError):
        return 0
