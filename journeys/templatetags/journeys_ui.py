"""How the journey pages show a plan's steps: in the order journeys.layout draws them, each in
words ("Send offer Personal Loan on Email", "Wait 3 days", "Branch: if variables.score > 0.5 →
won, else → done"), with links to the steps it leads to. Pure functions, plus the template
filters built on them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import template

from journeys.layout import ordered
from journeys.plans import transitions

register = template.Library()

STEP_LABELS = {
    "send": "Send",
    "decide": "Decide",
    "wait": "Wait",
    "branch": "Branch",
    "update": "Update",
    "end": "End",
}

OPERATOR_TEXT = {
    "eq": "=",
    "neq": "≠",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "in": "in",
    "not_in": "not in",
    "contains": "contains",
    "starts_with": "starts with",
    "is_null": "is empty",
    "is_not_null": "is set",
}

EVENT_LABELS = {
    "enrolled": "Enrolled",
    "started": "Started",
    "send": "Sent",
    "send_blocked": "Send blocked",
    "decide": "Decided",
    "wait": "Waiting",
    "woke": "Woke up",
    "branch": "Branched",
    "update": "Updated variables",
    "end": "Reached the end",
    "paused": "Paused",
    "resumed": "Resumed",
    "cancelled": "Cancelled",
    "completed": "Completed",
    "failed": "Failed",
}

_UNITS = (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


@dataclass
class Link:
    label: str  # "next", "if blocked", "if variables.tier = gold", "else"
    target: str
    known: bool = True  # the target is a step of the plan


@dataclass
class StepView:
    """One step as the plan page draws it."""

    position: int  # 1-based, in the drawing's order
    id: str
    type: str
    name: str
    text: str
    links: list[Link]
    index: int  # where it is in the plan's list (publish errors say steps[index])
    is_first: bool = False
    reachable: bool = True
    live: int = 0  # live runs whose current step this is
    by_status: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return STEP_LABELS.get(self.type, self.type.title() if self.type else "Step")


# --- words -----------------------------------------------------------------------------------


def seconds_text(seconds: float) -> str:
    """259200 → "3 days", 5400 → "1 hour 30 minutes", 45 → "45 seconds"."""
    remaining = round(float(seconds))
    if remaining <= 0:
        return f"{seconds:g} seconds"
    parts: list[str] = []
    for unit, size in _UNITS:
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(f"{amount} {unit}{'s' if amount != 1 else ''}")
        if len(parts) == 2:
            break
    return " ".join(parts)


def value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _conditions(step: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A branch's conditions (a draft is not checked: anything else counts as none)."""
    items = step.get("conditions")
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def condition_text(condition: Any) -> str:
    """kaireon.rules conditions in words: 'variables.score > 0.5 and customer.tier = gold'."""
    if not isinstance(condition, Mapping):
        return value_text(condition)
    for key, joiner in (("all", " and "), ("any", " or ")):
        if key in condition:
            items = condition[key] if isinstance(condition[key], list) else []
            if not items:
                return "always"
            parts = [condition_text(item) for item in items]
            if len(parts) == 1:
                return parts[0]
            return joiner.join(f"({part})" if (" and " in part or " or " in part) else part for part in parts)
    operator = str(condition.get("operator", ""))
    text = f"{condition.get('field', '?')} {OPERATOR_TEXT.get(operator, operator)}"
    if "value" in condition and operator not in ("is_null", "is_not_null"):
        text += f" {value_text(condition['value'])}"
    return text


def wait_text(step: Mapping[str, Any], tick_seconds: float) -> str:
    duration, ticks = step.get("duration"), step.get("ticks")
    if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0:
        return f"Wait {seconds_text(duration)}"
    if isinstance(ticks, int) and not isinstance(ticks, bool):
        approx = f" (about {seconds_text(ticks * tick_seconds)})" if tick_seconds else ""
        return f"Wait {ticks} tick{'s' if ticks != 1 else ''}{approx}"
    return "Wait"


def describe(step: Mapping[str, Any], names: Mapping[str, str], tick_seconds: float = 0) -> str:
    """What a step does, in a sentence; ids the tenant's catalogue knows become their names."""

    def name(key: str) -> str:
        value = step.get(key)
        return names.get(str(value), str(value)) if value else "?"

    kind = step.get("type")
    if kind == "send":
        if step.get("offerFrom"):
            return f"Send the offer decided into variables.{step['offerFrom']}, on its channel"
        text = f"Send offer {name('offerId')} on {name('channelId')}"
        if step.get("creativeId"):
            text += f" (creative {name('creativeId')})"
        return text
    if kind == "wait":
        return wait_text(step, tick_seconds)
    if kind == "branch":
        parts = []
        for item in _conditions(step):
            parts.append(f"if {condition_text(item.get('condition'))} → {item.get('next', '?')}")
        parts.append(f"else → {step.get('default') or '?'}")
        return "Branch: " + ", ".join(parts)
    if kind == "decide":
        text = f"Decide with flow {name('decisionFlowId')}"
        if step.get("storeAs"):
            text += f", keep the offer as variables.{step['storeAs']}"
        return text
    if kind == "update":
        values = step.get("set")
        if isinstance(values, Mapping) and values:
            assignments = ", ".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items())
            return f"Update variables: {assignments}"
        return "Update variables"
    if kind == "end":
        return f"End: {step['outcome']}" if step.get("outcome") else "End"
    return f"Unknown step type {kind!r}" if kind else "A step without a type"


def links_of(step: Mapping[str, Any], known: set[str]) -> list[Link]:
    """The step's transitions (journeys.plans) as the card's links."""
    labels = {"default": "else", "next": "next", "onBlocked": "if blocked"}
    return [
        Link(
            labels.get(transition.via) or f"if {condition_text(transition.condition)}",
            transition.target,
            transition.target in known,
        )
        for transition in transitions(step)
    ]


def step_views(
    steps: list[Any],
    *,
    names: Mapping[str, str],
    tick_seconds: float = 0,
    counts: Mapping[str, Mapping[str, int]] | None = None,
    errors: Iterable[tuple[int, str]] = (),
) -> list[StepView]:
    """The steps as cards. ``counts``: step id → {status: live runs there}; ``errors``:
    (index in the plan, message) from a failed publish."""
    counts = counts or {}
    known = {s["id"] for s in steps if isinstance(s, Mapping) and isinstance(s.get("id"), str)}
    by_index: dict[int, list[str]] = {}
    for index, message in errors:
        by_index.setdefault(index, []).append(message)
    views = []
    for position, (index, step, reachable) in enumerate(ordered(steps), start=1):
        step_id = str(step.get("id") or f"steps[{index}]")
        by_status = dict(counts.get(step_id, {}))
        views.append(
            StepView(
                position=position,
                id=step_id,
                type=str(step.get("type") or ""),
                name=str(step.get("name") or ""),
                text=describe(step, names, tick_seconds),
                links=links_of(step, known),
                index=index,
                is_first=index == 0,
                reachable=reachable,
                live=sum(by_status.values()),
                by_status=by_status,
                errors=by_index.get(index, []),
            )
        )
    return views


def referenced_ids(steps: Iterable[Any]) -> set[str]:
    """Catalogue ids the steps name (to look their names up in one query each)."""
    out: set[str] = set()
    for step in steps:
        if isinstance(step, Mapping):
            for key in ("offerId", "channelId", "creativeId", "decisionFlowId"):
                if isinstance(step.get(key), str):
                    out.add(step[key])
    return out


# --- filters ---------------------------------------------------------------------------------


@register.filter
def event_label(action: Any) -> str:
    """A run event's action as people read it: "send_blocked" → "Send blocked"."""
    key = str(action or "")
    return EVENT_LABELS.get(key, key.replace("_", " ").capitalize())


@register.filter
def compact_json(value: Any) -> str:
    """A JSON value on one line ({} and [] as "—")."""
    if value in ({}, [], None, ""):
        return "—"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    if isinstance(mapping, Mapping):
        return mapping.get(key, mapping.get(str(key)))
    return None
