"""One error shape for every 4xx, from DRF's errors and the domain's (``kaireon.errors``):

    {"error": "segmentId: Segment has no materialized view.", "code": "invalid", "status": 400,
     "fields": {"segmentId": ["Segment has no materialized view."]}}

``fields`` appears for validation errors only; its keys are the request's camelCase names.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from kaireon import errors
from kaireon.naming import camel


class ApiConflict(exceptions.APIException):
    """A 409: the API's form of ``kaireon.errors.Conflict`` (what code raises) and of Django's
    ``ProtectedError``."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"

    def __init__(self, detail: Any = None, code: str | None = None, **extra: Any) -> None:
        """``extra`` goes into the error body beside the message, e.g. ``currentStatus``."""
        super().__init__(detail, code)
        self.extra = extra


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is larger than this server accepts."
    default_code = "too_large"


class Refused(exceptions.APIException):
    """A 400 for a domain error of no more precise kind."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"


def _data_fields() -> frozenset[str]:
    """Fields whose keys are data (settings.JSON_CAMEL_CASE ignore_fields): left as they are."""
    options = getattr(settings, "JSON_CAMEL_CASE", {}).get("JSON_UNDERSCOREIZE", {})
    return frozenset(options.get("ignore_fields", ()))


def _flatten(detail: Any, prefix: str = "", raw_keys: bool = False) -> dict[str, list[str]]:
    """DRF error details as {"dotted.camelPath": [messages]}; keys under data fields stay as sent
    (``{"attributes": {"shoe_size": [...]}}`` → ``attributes.shoe_size``)."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = camel(str(key)) if key != "non_field_errors" else "nonFieldErrors"
            if raw_keys:
                name = str(key)
            path = f"{prefix}.{name}" if prefix else name
            out.update(_flatten(value, path, raw_keys=str(key) in _data_fields()))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out[prefix or "nonFieldErrors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(_flatten(item, f"{prefix}[{index}]"))
    else:
        out[prefix or "nonFieldErrors"] = [str(detail)]
    return out


def _validation_detail(exc: errors.ValidationError) -> dict[str, Any]:
    """A domain validation error as DRF's detail: {key: [messages]}, a data field's keys nested
    below it so that they are reported as they are ("attributes.shoe_size")."""
    detail: dict[str, Any] = {}
    data_fields = _data_fields()
    for field, messages in exc.by_field().items():
        key = field if field is not None else "non_field_errors"
        head, _, rest = key.partition(".")
        if head in data_fields and rest:
            detail.setdefault(head, {}).setdefault(rest, []).extend(messages)
        else:
            detail.setdefault(key, []).extend(messages)
    return detail


def _as_drf(exc: Exception) -> Exception:
    if isinstance(exc, errors.ValidationError):
        return exceptions.ValidationError(_validation_detail(exc))
    if isinstance(exc, errors.NotFound):
        return exceptions.NotFound(exc.message)
    if isinstance(exc, errors.Conflict):
        return ApiConflict(exc.message, **exc.extra)
    if isinstance(exc, errors.PermissionDenied):
        return exceptions.PermissionDenied(exc.message)
    if isinstance(exc, errors.TooLarge):
        return PayloadTooLarge(exc.message)
    if isinstance(exc, errors.DomainError):
        return Refused(exc.message, str(exc.code))
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(
                {k: [m for e in v for m in e.messages] for k, v in exc.error_dict.items()}
            )
        return exceptions.ValidationError(exc.messages)
    if isinstance(exc, ProtectedError):
        return ApiConflict("This object is still in use and cannot be deleted.")
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _as_drf(exc)
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    body: dict[str, Any] = {"status": response.status_code}
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first_field, messages = next(iter(fields.items()), ("", ["Invalid input."]))
        message = messages[0]
        body["error"] = message if first_field == "nonFieldErrors" else f"{first_field}: {message}"
        body["code"] = "invalid"
        # Keys are already camelCase; the renderer would leave them, but keep them out of its way.
        body["fields"] = fields
    else:
        detail = exc.detail
        body["error"] = str(detail if not isinstance(detail, (list, dict)) else _flatten(detail))
        codes = exc.get_codes()
        body["code"] = codes if isinstance(codes, str) else exc.default_code
        if isinstance(exc, ApiConflict):
            body.update(exc.extra)
    response.data = body
    return response
