"""The OpenAPI schema's project parts: the authentication classes' descriptions (drf-spectacular
extensions) and the AutoSchema that documents every operation's error answers."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "kaireon.authentication.ApiKeyAuthentication"
    name = ["ApiKeyAuth", "BearerAuth"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {"type": "http", "scheme": "bearer", "description": "The same API key as a bearer token."},
        ]


class TenantSessionScheme(OpenApiAuthenticationExtension):
    target_class = "kaireon.authentication.TenantSessionAuthentication"
    name = "SessionAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


# --- the error answers -----------------------------------------------------------------------


class ErrorResponseSerializer(serializers.Serializer):
    """The one error shape of every 4xx (kaireon.exceptions)."""

    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    error = serializers.CharField(help_text="What went wrong, for people; the first field's problem for a 400.")
    code = serializers.CharField(help_text="invalid, not_authenticated, permission_denied, not_found, conflict…")
    # DRF's metaclass moves declared fields out of the class: "fields" does not shadow .fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="400 only: every problem, by the request's camelCase field path (volumeConstraints.maxPerOffer).",
    )


_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ERRORS = {
    "400": "Invalid input: a body field, a query parameter or a path id in the wrong form (fields says which).",
    "401": "No credentials, or an unknown, revoked or expired API key.",
    "403": "The caller's role does not allow this.",
    "404": "No such object in the caller's tenant (another tenant's objects are 404 too), or an id it names.",
    "409": "The object's state does not allow this (a run still going, an archived campaign, a row still in use).",
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, adding the error answers every operation can give, all
    in the ErrorResponse shape, so no view has to list them (an operation's own entry for a code
    wins). The rules follow how the API answers:

    - 401 and 403 on every operation (each one authenticates and checks the role);
    - 400 on writes, and on operations with query parameters or a patterned path id;
    - 404 on operations with a path id, and on writes (the ids a body names are looked up);
    - 409 on writes: a conflicting state can meet any of them (services raise Conflict, a
      delete of a row still referenced is one); and on the reads a view names in
      ``conflict_actions`` (a cancelled run's results, say).

    A 201 also documents its Location header: every create sets it.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        in_path = [p for p in parameters if p.get("in") == "path"]
        write = self.method in _WRITES
        codes = ["401", "403"]
        if write or any(p.get("in") == "query" for p in parameters) or any("pattern" in p["schema"] for p in in_path):
            codes.append("400")
        if write or in_path:
            codes.append("404")
        if write or getattr(self.view, "action", None) in getattr(self.view, "conflict_actions", ()):
            codes.append("409")
        responses = operation.setdefault("responses", {})
        if "201" in responses:
            # every create answers where the new object is (DESIGN 2)
            responses["201"].setdefault("headers", {})["Location"] = {
                "schema": {"type": "string", "format": "uri"},
                "description": "The URL of the created object.",
            }
        for code in sorted(codes):
            if code not in responses:
                answer = OpenApiResponse(response=ErrorResponseSerializer, description=_ERRORS[code])
                responses[code] = self._get_response_for_code(answer, code, ("application/json",))
        operation["responses"] = dict(sorted(responses.items()))
        return operation
