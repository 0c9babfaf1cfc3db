"""``kaireon.renderers.camelize`` answers what djangorestframework_camel_case's camelize answers."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.utils.translation import gettext_lazy
from djangorestframework_camel_case.util import camelize as library_camelize
from rest_framework.utils.serializer_helpers import ReturnDict

from journeys.views import JourneyJSONRenderer
from kaireon.renderers import CamelCaseJSONRenderer, _camel_key, camelize
from segments.models import Customer

PAYLOADS: list[Any] = [
    None,
    "snake_case_text",
    3,
    2.5,
    True,
    Decimal("1.5"),
    dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    [],
    {},
    {"runs": [{"decision_flow_id": "df_1", "progress": {"rate_per_second": None, "eta_seconds": 1.5}}], "total": 2},
    {"attributes": {"first_name": "kept", "nested_key": {"also_kept": 1}}, "first_name": "x"},
    {"variables": [{"a_b": 1}], "steps": ("x_y", {"next_step": 2}), "a1_b2": 1, "_private": 2, "trailing_": 3},
    {"ignored_key": {"inner_key": 1}, "ignoredKey": 2, 4: "int key", gettext_lazy("lazy_key"): gettext_lazy("v")},
    ReturnDict({"return_dict": [1, 2, {"x_y": "z"}]}, serializer=None),  # type: ignore[call-overload]  # no serializer here
    [("tuple_item", {"in_tuple": 1})],
    {"frozen": frozenset({7}), "offer_counts": {"off_01ab_cd": 3}, "v2_value": {"x__y": 1}},
]
OPTIONS: list[dict[str, Any]] = [
    {},
    {"ignore_fields": ("attributes", "variables", "steps"), "ignore_keys": ("ignored_key",)},
    {"ignore_fields": None, "ignore_keys": None, "no_underscore_before_number": True},
]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("index", range(len(PAYLOADS)))
def test_camelize_answers_what_the_library_answers(index: int, options: dict[str, Any]) -> None:
    ours, theirs = camelize(PAYLOADS[index], **options), library_camelize(PAYLOADS[index], **options)
    assert json.dumps(ours, default=str) == json.dumps(theirs, default=str)


@pytest.mark.django_db
def test_the_api_and_the_journeys_api_render_through_it(viewer, tenant):
    Customer.objects.create(tenant=tenant, external_id="c1", first_name="Ana")
    _camel_key.cache_clear()
    assert viewer.get("/api/v1/customers").json()["customers"][0]["firstName"] == "Ana"
    assert _camel_key.cache_info().misses > 0  # converted here, not by the library
    assert issubclass(JourneyJSONRenderer, CamelCaseJSONRenderer)
