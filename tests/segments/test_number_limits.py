"""Numbers at their limits in segment filters and customer attributes (issue 10, section 3): a 400 stating the range."""

from __future__ import annotations

import pytest

from segments.models import Segment

pytestmark = pytest.mark.django_db

URL = "/api/v1/segments"
HUGE = 99999999999999999999999


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "age", "operator": "gte", "value": HUGE},
        {"field": "age", "operator": "in", "value": [1, -HUGE]},
    ],
)
def test_integers_beyond_64_bits_in_a_filter_are_a_400_stating_the_range(editor, schema, condition):
    for path in (URL, f"{URL}/preview"):
        response = editor.post(path, {"name": "Huge", "filters": condition}, format="json")
        assert response.status_code == 400, response.content
        (messages,) = response.json()["fields"].values()
        assert "from -9,223,372,036,854,775,808 to 9,223,372,036,854,775,807" in messages[0]
    assert not Segment.objects.exists()


def test_the_largest_integer_is_accepted(editor, schema):
    condition = {"field": "age", "operator": "lt", "value": 2**63 - 1}
    response = editor.post(f"{URL}/preview", {"filters": condition}, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("attributes", "field", "message"),
    [
        ({"age": HUGE}, "attributes.age", "from -9,223,372,036,854,775,808 to 9,223,372,036,854,775,807"),
        ({"score": 10**400}, "attributes.score", "expected a finite number"),
    ],
)
def test_customer_attributes_beyond_their_type_are_a_400(editor, schema, attributes, field, message):
    body = {"externalId": "c1", "attributes": {"tier": "gold", **attributes}}
    response = editor.post("/api/v1/customers", body, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["fields"][field][0]


def test_csv_cells_beyond_their_type_are_row_errors(tenant, schema):
    import io

    from segments.importing.pipeline import import_stream
    from segments.selectors import attribute_schema

    csv = f"externalId,tier,age,score\nc1,gold,{HUGE},1\nc2,gold,1,{'9' * 400}\nc3,gold,1,1.5\n"
    stats = import_stream(
        tenant_id=tenant.pk,
        stream=io.StringIO(csv),
        format="csv",
        schema=attribute_schema(tenant=tenant),
        on_batch=lambda stats: None,
    )
    assert (stats.created, stats.rejected) == (1, 2)
    assert [(e["line"], e["field"]) for e in stats.errors] == [(2, "attributes.age"), (3, "attributes.score")]
