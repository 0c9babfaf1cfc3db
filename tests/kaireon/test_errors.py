"""kaireon.errors: the domain's error vocabulary, its translation into the API's one error body,
and the layering rule that keeps DRF above the services. (The forms' translation is tested in
test_forms.py.)"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from rest_framework import exceptions as drf_exceptions

from kaireon import errors
from kaireon.exceptions import ApiConflict, api_exception_handler

ROOT = Path(__file__).resolve().parents[2]
APPS = ("kaireon", "campaigns", "decisionflows", "journeys", "runs", "segments", "console")
# The API layer: the only modules that may import rest_framework.
API_MODULES = frozenset({"views.py", "serializers.py", "urls.py", "filters.py"})
API_FILES = frozenset(
    {
        "kaireon/authentication.py",
        "kaireon/exceptions.py",
        "kaireon/negotiation.py",
        "kaireon/pagination.py",
        "kaireon/parsers.py",
        "kaireon/renderers.py",
        "kaireon/permissions.py",
        "kaireon/schema.py",
        "kaireon/viewsets.py",
        "kaireon/apps.py",  # registers the OpenAPI extension of kaireon/schema.py when Django starts
        "journeys/public.py",
    }
)


def _is_api(relative: str) -> bool:
    return relative.rsplit("/", 1)[-1] in API_MODULES or relative in API_FILES


def _api_module_names() -> frozenset[str]:
    """The project's API modules by dotted name ("kaireon.parsers"): importing one imports DRF."""
    names = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "migrations" not in path.parts and _is_api(relative):
                names.add(relative.removesuffix(".py").replace("/", "."))
    return frozenset(names)


def _imports_drf(path: Path, api_modules: frozenset[str] = frozenset()) -> bool:
    """Whether the module imports rest_framework, or one of ``api_modules`` (which do)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        else:
            continue
        if any(name == "rest_framework" or name.startswith("rest_framework.") or name in api_modules for name in names):
            return True
    return False


def test_only_api_modules_import_rest_framework() -> None:
    """Directly, or through one of the project's API modules (kaireon.parsers, .pagination, ...)."""
    api_modules = _api_module_names()
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "migrations" in path.parts or _is_api(relative):
                continue
            if _imports_drf(path, api_modules):
                offenders.append(relative)
    assert offenders == []


def test_the_rule_sees_an_import_of_rest_framework(tmp_path: Path) -> None:
    module = tmp_path / "services.py"
    module.write_text("import json\nif True:\n    from rest_framework.exceptions import NotFound\n")
    assert _imports_drf(module)
    module.write_text("from kaireon.errors import NotFound  # rest_framework in a comment\n")
    assert not _imports_drf(module)
    module.write_text("from kaireon import parsers\n")
    assert _imports_drf(module, frozenset({"kaireon.parsers"}))
    assert "kaireon.parsers" in _api_module_names()


# --- the vocabulary -------------------------------------------------------------------------


def test_validation_error_keeps_each_field_path_with_its_messages_and_code() -> None:
    exc = errors.ValidationError(
        {"pipeline[2].config.weights": ["must be numbers", "must add up"], None: "give a flow"}, code="weights"
    )
    assert [(e.field, e.message, e.code) for e in exc.errors] == [
        ("pipeline[2].config.weights", "must be numbers", "weights"),
        ("pipeline[2].config.weights", "must add up", "weights"),
        (None, "give a flow", "weights"),
    ]
    assert exc.by_field() == {"pipeline[2].config.weights": ["must be numbers", "must add up"], None: ["give a flow"]}
    assert (exc.code, exc.message, str(exc)) == ("weights", "must be numbers", "must be numbers")


def test_validation_error_of_messages_only_is_about_the_whole_input() -> None:
    assert errors.ValidationError("Bad.").by_field() == {None: ["Bad."]}
    assert errors.ValidationError(["One.", "Two."]).by_field() == {None: ["One.", "Two."]}
    assert errors.ValidationError("Bad.").code == errors.ErrorCode.INVALID


def test_from_django_keeps_fields_and_puts_all_and_plain_messages_on_the_whole_input() -> None:
    from django.core.exceptions import NON_FIELD_ERRORS
    from django.core.exceptions import ValidationError as DjangoValidationError

    keyed = DjangoValidationError({"name": ["Too long.", "Taken."], NON_FIELD_ERRORS: ["Clashes."]})
    exc = errors.ValidationError.from_django(keyed)
    assert isinstance(exc, errors.ValidationError)
    assert exc.by_field() == {"name": ["Too long.", "Taken."], None: ["Clashes."]}
    plain = errors.ValidationError.from_django(DjangoValidationError(["One.", "Two."]))
    assert plain.by_field() == {None: ["One.", "Two."]}
    assert errors.ValidationError.from_django(DjangoValidationError("Bad %(x)s.", params={"x": 1})).message == "Bad 1."


def test_not_found_names_what_and_the_input_that_referenced_it() -> None:
    exc = errors.not_found("Decision flow", "df_1", field="decision_flow_id")
    assert (exc.message, exc.field, exc.code) == ("Decision flow 'df_1' not found.", "decision_flow_id", "not_found")
    assert errors.not_found("Segment", "s").field is None


def test_conflict_carries_its_code_and_extras() -> None:
    exc = errors.Conflict("Run is done.", code="not_pending", current_status="done")
    assert (exc.message, exc.code, exc.extra) == ("Run is done.", "not_pending", {"current_status": "done"})
    assert errors.Conflict().message.startswith("The request conflicts")
    assert isinstance(exc, errors.DomainError)
    assert isinstance(errors.PermissionDenied(), errors.DomainError)


# --- the API's body -------------------------------------------------------------------------


def _body(exc: Exception) -> tuple[int, Any]:
    response = api_exception_handler(exc, {})
    assert response is not None
    return response.status_code, response.data


def test_validation_error_body_is_the_api_one() -> None:
    domain = errors.ValidationError(
        {"segment_id": "Segment has no materialized view.", "filters.all[0].value": ["required", "a number"]}
    )
    drf = drf_exceptions.ValidationError(
        {"segment_id": ["Segment has no materialized view."], "filters.all[0].value": ["required", "a number"]}
    )
    assert _body(domain) == _body(drf)
    assert _body(domain) == (
        400,
        {
            "status": 400,
            "error": "segmentId: Segment has no materialized view.",
            "code": "invalid",
            "fields": {
                "segmentId": ["Segment has no materialized view."],
                "filters.all[0].value": ["required", "a number"],
            },
        },
    )


def test_validation_error_about_the_whole_input_or_data_keys() -> None:
    assert _body(errors.ValidationError("No channels.", code="no_channels")) == _body(
        drf_exceptions.ValidationError({"non_field_errors": ["No channels."]})
    )
    _, body = _body(errors.ValidationError({"attributes.shoe_size": "required", "external_id": "bad"}))
    assert body["fields"] == {"attributes.shoe_size": ["required"], "externalId": ["bad"]}


def test_not_found_body_is_the_api_one() -> None:
    exc = errors.not_found("Decision flow", "df_1", field="decision_flow_id")
    assert _body(exc) == _body(drf_exceptions.NotFound("Decision flow 'df_1' not found."))
    assert _body(exc) == (404, {"status": 404, "error": "Decision flow 'df_1' not found.", "code": "not_found"})


def test_conflict_body_keeps_its_extras() -> None:
    exc = errors.Conflict("Run is done.", code="not_pending", current_status="done", run_id="r_1")
    assert _body(exc) == _body(ApiConflict("Run is done.", current_status="done", run_id="r_1"))
    assert _body(exc) == (
        409,
        {"status": 409, "error": "Run is done.", "code": "conflict", "current_status": "done", "run_id": "r_1"},
    )


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.PermissionDenied(), 403, "permission_denied"),
        (errors.too_large("The file", 10), 413, "too_large"),
        (errors.DomainError("Refused.", code="odd"), 400, "odd"),
    ],
)
def test_other_domain_errors_have_their_status(exc: errors.DomainError, status: int, code: str) -> None:
    assert _body(exc) == (status, {"status": status, "error": exc.message, "code": code})
