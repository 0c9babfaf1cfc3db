"""Service errors beside the form fields they are about.

The pages' forms check shape; the rules live in the services, which raise ``kaireon.errors``
(or Django's ``ValidationError``). ``ServiceErrorsMixin`` maps such an error onto a Django form:

- an error's field path names a field by an alias (``SERVICE_FIELDS``: ``"segment_id": "segment"``;
  the key None: errors about the input as a whole; an alias to None, or to a field the form does
  not have, is a non-field error), else by the field's own name;
- a nested path ("eligibility.all[0].value", "tags[2]") goes to the longest field name it starts
  with, its message prefixed by where below the field it is (``error_location``:
  "all[0].value: required");
- a ``NotFound`` goes to the field of the input that referenced the missing object (its
  ``field``, through the same aliases);
- everything else goes to ``NON_FIELD`` (None: the form's own errors above the fields).

``error_messages`` / ``error_text`` give the same messages for a flash message, without a form.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError

from kaireon import errors
from kaireon.jsonload import JSONInputError, loads
from kaireon.naming import camel
from kaireon.validators import validate_name

if TYPE_CHECKING:
    _FormBase = forms.Form
else:
    _FormBase = object


def _keyed_messages(exc: Exception) -> Iterator[tuple[str | None, list[str]]]:
    """(service key or None, its messages) for each part of a service error; raises what is not one."""
    if isinstance(exc, DjangoValidationError) and hasattr(exc, "error_dict"):
        for key, items in exc.error_dict.items():
            yield str(key), [message for item in items for message in item.messages]
    elif isinstance(exc, DjangoValidationError):
        yield None, list(exc.messages)
    elif isinstance(exc, errors.ValidationError):
        yield from exc.by_field().items()
    elif isinstance(exc, errors.NotFound):
        yield exc.field, [exc.message]
    elif isinstance(exc, errors.DomainError):
        yield None, [exc.message]
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

    # service field path (None: the input as a whole) → form field (None: a non-field error),
    # where the names differ
    SERVICE_FIELDS: ClassVar[Mapping[str | None, str | None]] = {}
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
    def _resolve(cls, key: str | None, fields: Collection[str]) -> tuple[str | None, str]:
        """The field ``key`` is about, and where below it ("" when the key names it whole)."""
        if key in cls.SERVICE_FIELDS:
            field = cls.SERVICE_FIELDS[key]
            return (field if field in fields else cls.NON_FIELD), ""
        if key is None:
            return cls.NON_FIELD, ""
        for name in sorted(fields, key=len, reverse=True):
            if key == name:
                return name, ""
            if key.startswith((f"{name}.", f"{name}[")):
                return name, cls.error_location(name, key[len(name) :])
        return cls.NON_FIELD, ""

    @classmethod
    def _errors_for(cls, exc: Exception, fields: Collection[str]) -> dict[str | None, list[str]]:
        out: dict[str | None, list[str]] = {}
        for key, messages in _keyed_messages(exc):
            field, where = cls._resolve(key, fields)
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
