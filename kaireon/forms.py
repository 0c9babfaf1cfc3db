"""Service errors beside the form fields they are about.

The pages' forms check shape; the rules live in the services, which raise DRF ``ValidationError``
/ ``NotFound`` / other ``APIException`` or Django ``ValidationError``. ``ServiceErrorsMixin``
maps such an error onto a Django form:

- a key names a field by an alias (``SERVICE_FIELDS``: ``"segment_id": "segment"``; an alias to
  None, or to a field the form does not have, is a non-field error), else by the field's own name;
- a nested key ("eligibility.all[0].value", "tags[2]") goes to the longest field name it starts
  with, its message prefixed by where below the field it is (``error_location``:
  "all[0].value: required");
- a ``NotFound`` goes to the field its message starts with (``NOT_FOUND_FIELDS``:
  ``("Segment", "segment")``);
- everything else, and a message of no key at all, goes to ``NON_FIELD`` (None: the form's own
  errors above the fields).

``error_messages`` / ``error_text`` give the same messages for a flash message, without a form.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions as drf_exceptions

from kaireon.exceptions import camel
from kaireon.parsers import JSONInputError, loads
from kaireon.validators import validate_name

if TYPE_CHECKING:
    _FormBase = forms.Form
else:
    _FormBase = object


def messages_of(value: Any) -> list[str]:
    """A DRF error detail (a string, a list, or a mapping of nested errors) as flat messages;
    nested keys say where: ``{"0": ["bad"]}`` → ``["0: bad"]``."""
    if isinstance(value, Mapping):
        return [f"{key}: {message}" for key, item in value.items() for message in messages_of(item)]
    if isinstance(value, (list, tuple)):
        return [message for item in value for message in messages_of(item)]
    return [str(value)]


def _keyed_messages(exc: Exception) -> Iterator[tuple[str | None, list[str]]]:
    """(service key or None, its messages) for each part of a service error; raises what is not one."""
    if isinstance(exc, DjangoValidationError) and hasattr(exc, "error_dict"):
        for key, errors in exc.error_dict.items():
            yield str(key), [message for error in errors for message in error.messages]
    elif isinstance(exc, drf_exceptions.ValidationError) and isinstance(exc.detail, Mapping):
        for key, value in exc.detail.items():
            yield str(key), messages_of(value)
    elif isinstance(exc, DjangoValidationError):
        yield None, list(exc.messages)
    elif isinstance(exc, drf_exceptions.APIException):
        yield None, messages_of(exc.detail)
    else:
        raise exc


def parse_json_text(raw: str) -> Any:
    """JSON typed into a form, read as the API reads it (``kaireon.parsers.loads``: no NUL, no
    non-finite numbers, bounded depth), or a form error saying where it broke."""
    try:
        return loads(raw)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except JSONInputError as exc:
        raise forms.ValidationError(str(exc)) from None


class ServiceErrorsMixin(_FormBase):
    """``add_service_error`` for a Django form whose data goes to a service (see the module's
    docstring for where each error goes). Put it before ``forms.Form`` in the bases."""

    # service error key → form field (None: a non-field error), where the names differ
    SERVICE_FIELDS: ClassVar[Mapping[str, str | None]] = {}
    # (how a NotFound's message starts, the field it is about)
    NOT_FOUND_FIELDS: ClassVar[Sequence[tuple[str, str]]] = ()
    # where an error of no field of this form goes (None: the form's own errors)
    NON_FIELD: ClassVar[str | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A name goes to a service, like the API's (kaireon.serializers.NameField): the same rule.
        name = self.fields.get("name")
        if isinstance(name, forms.CharField):
            name.validators.append(validate_name)

    @classmethod
    def error_location(cls, field: str, rest: str) -> str:
        """Where below ``field`` an error of key ``field + rest`` is, as people read it: the
        camelCase path of the API ("webhookUrl", "all[0].value", "[2]")."""
        return camel(rest.lstrip("."))

    @classmethod
    def error_message(cls, message: str) -> str:
        """A service message as this form says it (the service speaks the API's names)."""
        return message

    @classmethod
    def _resolve(cls, key: str, fields: Collection[str]) -> tuple[str | None, str]:
        """The field ``key`` is about, and where below it ("" when the key names it whole)."""
        if key in cls.SERVICE_FIELDS:
            field = cls.SERVICE_FIELDS[key]
            return (field if field in fields else cls.NON_FIELD), ""
        for name in sorted(fields, key=len, reverse=True):
            if key == name:
                return name, ""
            if key.startswith((f"{name}.", f"{name}[")):
                return name, cls.error_location(name, key[len(name) :])
        return cls.NON_FIELD, ""

    @classmethod
    def _errors_for(cls, exc: Exception, fields: Collection[str]) -> dict[str | None, list[str]]:
        out: dict[str | None, list[str]] = {}
        if isinstance(exc, drf_exceptions.NotFound):
            message = str(exc.detail)
            field = next((f for prefix, f in cls.NOT_FOUND_FIELDS if message.startswith(prefix)), None)
            out[field if field in fields else cls.NON_FIELD] = [cls.error_message(message)]
            return out
        for key, messages in _keyed_messages(exc):
            field, where = cls._resolve(key, fields) if key is not None else (cls.NON_FIELD, "")
            texts = (cls.error_message(message) for message in messages)
            out.setdefault(field, []).extend(f"{where}: {text}" if where else text for text in texts)
        return out

    def service_errors(self, exc: Exception) -> dict[str | None, list[str]]:
        """A service error as {field of this form, or None: [messages]}; raises what is not one."""
        return self._errors_for(exc, self.fields)

    def add_service_error(self, exc: Exception) -> None:
        """Put a service error beside the field it is about (see ``service_errors``)."""
        for field, messages in self.service_errors(exc).items():
            for message in messages:
                self.add_error(field, message)

    @classmethod
    def error_messages(cls, exc: Exception) -> list[str]:
        """Every message of a service error, as this form (its declared fields) would show them."""
        return [message for messages in cls._errors_for(exc, cls.base_fields).values() for message in messages]

    @classmethod
    def error_text(cls, exc: Exception) -> str:
        """A service error in one line, for a flash message."""
        return " ".join(cls.error_messages(exc))
