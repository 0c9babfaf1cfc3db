"""Personalization tokens in creative text.

``{{customer.first_name}}`` and ``{{offer.name}}`` name a field of the customer or the offer;
``{{customer.first_name | "there"}}`` gives a fallback used when the value is missing or empty
(inside the quotes, ``\\"`` is a quote and ``\\\\`` a backslash). Pure: no database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

NAMESPACES = ("customer", "offer")

_TOKEN = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_INNER = re.compile(r'^\s*([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*(?:\|\s*"((?:[^"\\]|\\.)*)"\s*)?$', re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


class TokenError(ValueError):
    def __init__(self, token: str, message: str) -> None:
        super().__init__(message)
        self.token = token
        self.message = message


@dataclass(frozen=True)
class Token:
    text: str  # as written, braces included
    namespace: str
    field: str
    fallback: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}.{self.field}"


def _parse(match: re.Match[str]) -> Token | None:
    inner = _INNER.match(match.group(1))
    if inner is None:
        return None
    namespace, field, fallback = inner.groups()
    return Token(
        text=match.group(0),
        namespace=namespace,
        field=field,
        fallback=None if fallback is None else _ESCAPE.sub(r"\1", fallback),
    )


def parse_tokens(text: str) -> list[Token]:
    """Every token of ``text`` in order; a ``{{…}}`` that is not a token raises ``TokenError``."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text or ""):
        token = _parse(match)
        if token is None:
            raise TokenError(
                match.group(0),
                f"malformed personalization token {match.group(0)}; "
                'write {{customer.field}} or {{customer.field | "fallback"}}',
            )
        tokens.append(token)
    rest = _TOKEN.sub("", text or "")
    stray = min((i for i in (rest.find("{{"), rest.find("}}")) if i >= 0), default=-1)
    if stray >= 0:
        near = rest[stray : stray + 40]
        raise TokenError(near, f"unclosed personalization token at {near!r}: write {{{{customer.field}}}}")
    return tokens


def token_refs(*texts: str) -> list[str]:
    """The distinct fields the texts name (``customer.first_name``…), in order; malformed ones skipped."""
    refs: list[str] = []
    for text in texts:
        for match in _TOKEN.finditer(text or ""):
            token = _parse(match)
            if token is not None and token.ref not in refs:
                refs.append(token.ref)
    return refs


def validate_tokens(text: str, known: Container[str]) -> list[Token]:
    """Parse ``text`` and check that every token names a known ``namespace.field``."""
    tokens = parse_tokens(text)
    for token in tokens:
        if token.namespace not in NAMESPACES:
            raise TokenError(
                token.text, f"unknown personalization token {token.text}: use customer.<field> or offer.<field>"
            )
        if token.ref not in known:
            raise TokenError(token.text, f"unknown personalization token {token.text}: no field {token.ref}")
    return tokens


def _lookup(source: Mapping[str, Any], field: str) -> Any:
    value = source.get(field)
    attributes = source.get("attributes")
    if value is None and isinstance(attributes, Mapping):
        value = attributes.get(field)
    return value


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(_as_text(item) for item in value)
    return str(value)


def render(text: str, customer: Mapping[str, Any], offer: Mapping[str, Any]) -> str:
    """``text`` with every token replaced by the customer's or offer's value, else its fallback.

    ``customer`` maps field names to values (attributes either flat or under ``attributes``).
    A missing, null or blank value uses the fallback, or renders as nothing. Text outside
    tokens is copied as is: escaping for HTML or SMS is the channel's business.
    """
    sources: dict[str, Mapping[str, Any]] = {"customer": customer, "offer": offer}

    def replace(match: re.Match[str]) -> str:
        token = _parse(match)
        if token is None:
            return match.group(0)
        source = sources.get(token.namespace, {})
        value = _as_text(_lookup(source, token.field))
        if not value.strip():
            return token.fallback or ""
        return value

    return _TOKEN.sub(replace, text or "")
