"""The domain's one error vocabulary: what services, selectors, tasks and commands raise.

No DRF here. Two places translate these errors, and only they: the API's exception handler
(``kaireon.exceptions.api_exception_handler``: the one 4xx body, as documented there) and the
forms' mixin (``kaireon.forms.ServiceErrorsMixin``: each error beside its field). Each app names
the codes that carry meaning in its ``error_codes.py``; the API body keeps its kind codes
("invalid", "not_found", "conflict"), the domain code is for callers in-process.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError


class ErrorCode(StrEnum):
    """The codes every domain shares."""

    INVALID = "invalid"
    REQUIRED = "required"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    PERMISSION_DENIED = "permission_denied"
    TOO_LARGE = "too_large"


class DomainError(Exception):
    """A request the domain refuses; ``message`` says why to a person, ``code`` to a program."""

    default_message = "The request was refused."
    default_code: str = ErrorCode.INVALID

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.code = code if code is not None else self.default_code
        super().__init__(self.message)


@dataclass(frozen=True)
class FieldError:
    """One problem with the input. ``field``: a path into it as the service names it
    ("segment_id", "pipeline[2].config.weights"), None for the input as a whole. ``path`` is a
    finer location where the error is reported under a coarser ``field`` (a plan's "steps" error
    about "steps[3]"), and ``short`` its message without the location the message starts with."""

    field: str | None
    message: str
    code: str = ErrorCode.INVALID
    path: str | None = None
    short: str | None = None


# A field's problems as services write them: one message or several, by field path (None: the
# input as a whole).
Messages = str | Sequence[str]
ByField = Mapping[str, Messages] | Mapping[str | None, Messages]


class ValidationError(DomainError):
    """The input is invalid: ``errors`` lists each problem with its field path and code.

    ``ValidationError("message")``, ``ValidationError({"segment_id": "message", "filters.all[0]":
    ["a", "b"]})`` (None as a key: the input as a whole) or a list of ``FieldError``."""

    default_message = "Invalid input."

    def __init__(
        self,
        errors: Messages | ByField | Sequence[FieldError],
        *,
        code: str = ErrorCode.INVALID,
    ) -> None:
        self.errors = list(_field_errors(errors, code))
        super().__init__(self.errors[0].message if self.errors else None, code=code)

    @classmethod
    def from_django(cls, exc: DjangoValidationError) -> ValidationError:
        """Django's error (of ``full_clean()`` or a validator) in these words, where a service
        calls one: its fields as field paths, "__all__" and plain messages as about no field."""
        if hasattr(exc, "error_dict"):
            return cls(
                {
                    (None if key == NON_FIELD_ERRORS else key): [m for error in items for m in error.messages]
                    for key, items in exc.error_dict.items()
                }
            )
        return cls(list(exc.messages))

    def by_field(self) -> dict[str | None, list[str]]:
        """{field path or None: [messages]}, in the order raised."""
        out: dict[str | None, list[str]] = {}
        for error in self.errors:
            out.setdefault(error.field, []).append(error.message)
        return out


def _field_errors(errors: Messages | ByField | Sequence[FieldError], code: str) -> Iterator[FieldError]:
    if isinstance(errors, str):
        yield FieldError(None, errors, code)
    elif isinstance(errors, Mapping):
        for field, messages in errors.items():
            for message in [messages] if isinstance(messages, str) else messages:
                yield FieldError(field, message, code)
    else:
        for item in errors:
            yield item if isinstance(item, FieldError) else FieldError(None, item, code)


class NotFound(DomainError):
    """No such object (in this tenant). ``field`` names the input that referenced it
    ("decision_flow_id"), so a form can put the error beside that input."""

    default_message = "Not found."
    default_code = ErrorCode.NOT_FOUND

    def __init__(self, message: str | None = None, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field


def not_found(what: str, value: Any, field: str | None = None) -> NotFound:
    """``Decision flow 'df_1' not found.``, about the input ``field``."""
    return NotFound(f"{what} {value!r} not found.", field=field)


class Conflict(DomainError):
    """The request conflicts with the current state of the object. ``extra`` goes into the API's
    error body beside the message, e.g. ``current_status`` (camelCase there)."""

    default_message = "The request conflicts with the current state of the resource."
    default_code = ErrorCode.CONFLICT

    def __init__(self, message: str | None = None, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message, code=code)
        self.extra = extra


class PermissionDenied(DomainError):
    """The acting principal may not do this."""

    default_message = "You do not have permission to perform this action."
    default_code = ErrorCode.PERMISSION_DENIED


class TooLarge(DomainError):
    """A request body or uploaded file beyond UPLOAD_MAX_BYTES."""

    default_message = "The request is larger than this server accepts."
    default_code = ErrorCode.TOO_LARGE


def upload_max_bytes() -> int:
    """The largest request body or uploaded file accepted (settings.UPLOAD_MAX_BYTES)."""
    return int(getattr(settings, "UPLOAD_MAX_BYTES", 100_000_000))


def too_large(what: str, size: int | None = None) -> TooLarge:
    """Saying what was too large, and the limit."""
    got = f" ({size:,} bytes)" if size is not None else ""
    return TooLarge(f"{what}{got} is larger than the {upload_max_bytes():,} bytes accepted (UPLOAD_MAX_BYTES).")
