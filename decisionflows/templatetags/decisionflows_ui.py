"""Template helpers of the catalogue pages: conditions, contact policies and personalization
tokens put into words, and form widgets wired to their error and help texts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import template
from django.forms import BoundField
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from decisionflows.models import CapScope, ContactPolicy, PolicyType

register = template.Library()

OPERATOR_WORDS: dict[str, str] = {
    "eq": "is",
    "neq": "is not",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "in": "is one of",
    "not_in": "is not one of",
    "contains": "contains",
    "starts_with": "starts with",
    "is_null": "is empty",
    "is_not_null": "is set",
}
PERIOD_WORDS = {"day": "day", "week": "week", "month": "month"}
SCORE_METHODS = {
    "prie": "PRIE: propensity \N{MULTIPLICATION SIGN} relevance \N{MULTIPLICATION SIGN} impact "
    "\N{MULTIPLICATION SIGN} emphasis, each raised to its weight",
    "priority_weighted": "Priority-weighted: priority \N{DIVISION SIGN} 100 \N{MULTIPLICATION SIGN} propensity "
    "\N{MULTIPLICATION SIGN} relevance",
    "formula": "Custom formula",
}
NODE_TITLES = {
    "inventory": "Inventory",
    "qualify": "Qualify",
    "filter": "Filter",
    "contact_policy": "Contact policies",
    "score": "Score",
    "rank": "Rank",
    "output": "Output",
}
NODE_PURPOSE = {
    "inventory": "Which offers are considered",
    "qualify": "Eligibility rules per customer and offer",
    "filter": "Rules that drop or down-weight offers",
    "contact_policy": "Frequency caps, cooldowns and suppression",
    "score": "How each remaining offer is scored",
    "rank": "How many offers each customer gets",
    "output": "Fields each recommendation carries",
}
DELIVERY_MODES = {"api": "API", "file": "File", "integration": "Integration", "manual": "Manual"}
POLICY_TYPES = {"frequency_cap": "Frequency cap", "cooldown": "Cooldown", "suppression": "Suppression"}
_TOKEN = re.compile(r"(\{\{.*?\}\})", re.DOTALL)


# --- conditions (kaireon.rules) ----------------------------------------------------------------


def _value_words(value: Any) -> SafeString:
    if isinstance(value, bool):
        return format_html("<strong>{}</strong>", "yes" if value else "no")
    if isinstance(value, list):
        return format_html_join(", ", "<strong>{}</strong>", ((_plain(item),) for item in value))
    return format_html("<strong>{}</strong>", _plain(value))


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return f"“{value}”"
    return str(value)


def field_words(name: str) -> SafeString:
    """``customer.first_name`` → "customer first name" (the raw path kept as a tooltip)."""
    namespace, _, field = str(name).partition(".")
    words = (field or namespace).replace("_", " ")
    prefix = f"{namespace} " if field else ""
    return format_html('<span class="df-field" title="{}">{}{}</span>', name, prefix, words)


def _leaf_words(leaf: Mapping[str, Any]) -> SafeString:
    operator = str(leaf.get("operator", ""))
    words = OPERATOR_WORDS.get(operator, operator.replace("_", " "))
    if "value" not in leaf or operator in ("is_null", "is_not_null"):
        return format_html("{} {}", field_words(leaf.get("field", "?")), words)
    return format_html("{} {} {}", field_words(leaf.get("field", "?")), words, _value_words(leaf["value"]))


def condition_html(condition: Any, depth: int = 0) -> SafeString:
    """A rule-language condition as nested sentences; {} is every customer."""
    if not condition:
        return mark_safe('<span class="df-cond">every customer</span>')
    if not isinstance(condition, Mapping) or depth > 10:
        return format_html("<code>{}</code>", str(condition))
    for key, joiner in (("all", "all of"), ("any", "any of")):
        if key in condition:
            items = condition.get(key) or []
            if not items:
                return mark_safe('<span class="df-cond">every customer</span>')
            if len(items) == 1:
                return condition_html(items[0], depth + 1)
            inner = format_html_join("", "<li>{}</li>", ((condition_html(item, depth + 1),) for item in items))
            return format_html('<span class="df-cond">{}:</span><ul class="df-cond-list">{}</ul>', joiner, inner)
    return format_html('<span class="df-cond">{}</span>', _leaf_words(condition))


@register.filter
def condition_words(condition: Any) -> SafeString:
    return condition_html(condition)


# --- contact policies ----------------------------------------------------------------------


def _hours_words(hours: int) -> str:
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


@register.filter
def policy_words(policy: ContactPolicy) -> str:
    """A policy as a marketer reads it: "At most 2 contacts per week on Email"."""
    if policy.policy_type == PolicyType.FREQUENCY_CAP:
        count = policy.max_count or 0
        period = PERIOD_WORDS.get(policy.period, policy.period)
        contacts = "contact" if count == 1 else "contacts"
        if policy.scope == CapScope.CHANNEL:
            target = policy.channel.name if policy.channel_id and policy.channel else "the channel"
            return f"At most {count} {contacts} per {period} on {target}"
        if policy.scope == CapScope.OFFER:
            target = policy.offer.name if policy.offer_id and policy.offer else "the offer"
            return f"At most {count} {contacts} of {target} per {period}"
        return f"At most {count} {contacts} per {period}, across every channel and offer"
    if policy.policy_type == PolicyType.COOLDOWN:
        hours = policy.cooldown_hours or 0
        return f"The same offer at most once every {_hours_words(hours)}"
    groups = [
        label
        for flag, label in ((policy.suppress_unsubscribed, "unsubscribed"), (policy.suppress_suppressed, "suppressed"))
        if flag
    ]
    return f"Never contact {' or '.join(groups) or 'no'} customers"


@register.filter
def policy_type(value: Any) -> str:
    return POLICY_TYPES.get(str(value), str(value))


@register.filter
def delivery_mode(value: Any) -> str:
    return DELIVERY_MODES.get(str(value), str(value))


# --- pipeline nodes ------------------------------------------------------------------------


@register.filter
def node_title(node_type: Any) -> str:
    return NODE_TITLES.get(str(node_type), str(node_type).replace("_", " ").capitalize())


@register.filter
def node_purpose(node_type: Any) -> str:
    return NODE_PURPOSE.get(str(node_type), "")


@register.filter
def score_method(method: Any) -> str:
    return SCORE_METHODS.get(str(method), str(method))


# --- personalization -----------------------------------------------------------------------


@register.filter
def highlight_tokens(text: Any) -> SafeString:
    """Creative text, escaped, with each ``{{…}}`` personalization token marked."""
    parts = _TOKEN.split(str(text or ""))
    return format_html_join(
        "",
        "{}",
        (
            (format_html('<mark class="df-token">{}</mark>', part) if index % 2 else format_html("{}", part),)
            for index, part in enumerate(parts)
        ),
    )


# --- forms ---------------------------------------------------------------------------------


@register.simple_tag
def df_widget(field: BoundField, **attrs: Any) -> SafeString:
    """The field's widget pointing at its error and help texts (``<name>-error``, ``<name>-help``)."""
    described = []
    if field.errors:
        described.append(f"{field.name}-error")
        attrs["aria-invalid"] = "true"
    if field.help_text:
        described.append(f"{field.name}-help")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)
