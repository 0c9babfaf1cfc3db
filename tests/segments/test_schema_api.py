from __future__ import annotations

import pytest

from kaireon.models import AuditLog
from segments import services
from segments.models import CustomerAttribute
from tests.segments.factories import CustomerAttributeFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customer-schema"


def test_viewer_reads_editor_writes_admin_deletes(viewer, editor, admin, tenant):
    new = {"name": "loyalty_tier", "type": "string", "label": "Loyalty tier", "required": True}
    assert viewer.post(URL, new, format="json").status_code == 403
    response = editor.post(URL, new, format="json")
    assert response.status_code == 201, response.content
    attribute_id = response.json()["id"]
    assert attribute_id.startswith("attr_")
    assert response.json()["name"] == "loyalty_tier"  # a value: never camel-cased
    listing = viewer.get(URL).json()
    assert listing["total"] == 1
    assert listing["customerAttributes"][0]["required"] is True
    assert viewer.patch(f"{URL}/{attribute_id}", {"label": "x"}, format="json").status_code == 403
    assert editor.patch(f"{URL}/{attribute_id}", {"label": "Tier"}, format="json").status_code == 200
    assert editor.delete(f"{URL}/{attribute_id}").status_code == 403
    assert admin.delete(f"{URL}/{attribute_id}").status_code == 204
    assert not CustomerAttribute.objects.exists()
    actions = AuditLog.objects.filter(tenant=tenant, object_type="customerattribute").values_list("action", flat=True)
    assert sorted(actions) == ["create", "delete", "update"]


def test_another_tenants_attribute_is_404(outsider, tenant):
    attribute = CustomerAttributeFactory.create(tenant=tenant, name="age", type="integer")
    assert outsider.get(f"{URL}/{attribute.pk}").status_code == 404
    assert outsider.patch(f"{URL}/{attribute.pk}", {"label": "x"}, format="json").status_code == 404
    assert outsider.delete(f"{URL}/{attribute.pk}").status_code == 404
    assert outsider.get(URL).json()["total"] == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "Age", "type": "integer"}, "name"),
        ({"name": "age'; DROP TABLE x; --", "type": "integer"}, "name"),
        ({"name": "age", "type": "list"}, "type"),
        ({"name": "email", "type": "string"}, "name"),  # a built-in field
    ],
)
def test_invalid_attribute_is_400(editor, payload, field):
    response = editor.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_duplicate_name_is_400(editor, tenant):
    CustomerAttributeFactory.create(tenant=tenant, name="age", type="integer")
    response = editor.post(URL, {"name": "age", "type": "number"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"name": ["the schema already has an attribute named 'age'"]}


def test_rename_is_400(editor, tenant):
    attribute = CustomerAttributeFactory.create(tenant=tenant, name="age", type="integer")
    response = editor.patch(f"{URL}/{attribute.pk}", {"name": "years"}, format="json")
    assert response.status_code == 400


def test_type_change_of_an_attribute_used_by_segments_is_409_naming_them(editor, admin, tenant, system_actor):
    attribute = CustomerAttributeFactory.create(tenant=tenant, name="age", type="integer")
    CustomerAttributeFactory.create(tenant=tenant, name="tier", type="string")
    services.segment_create(
        tenant=tenant,
        actor=system_actor,
        data={"name": "Adults", "filters": {"any": [{"field": "customer.age", "operator": "gte", "value": 18}]}},
    )
    services.segment_create(
        tenant=tenant,
        actor=system_actor,
        data={"name": "Gold", "filters": {"field": "tier", "operator": "eq", "value": "g"}},
    )
    response = editor.patch(f"{URL}/{attribute.pk}", {"type": "string"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert "Adults" in body["error"]
    assert "Gold" not in body["error"]
    assert [segment["name"] for segment in body["segments"]] == ["Adults"]
    assert CustomerAttribute.objects.get(pk=attribute.pk).type == "integer"
    # other changes of a used attribute are fine
    assert editor.patch(f"{URL}/{attribute.pk}", {"label": "Age in years"}, format="json").status_code == 200
    assert admin.delete(f"{URL}/{attribute.pk}").status_code == 409


def test_type_change_of_an_unused_attribute_is_allowed(editor, tenant):
    attribute = CustomerAttributeFactory.create(tenant=tenant, name="age", type="integer")
    response = editor.put(f"{URL}/{attribute.pk}", {"name": "age", "type": "number"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["type"] == "number"


def test_list_query_count_is_constant(viewer, tenant, django_assert_num_queries):
    CustomerAttributeFactory.create_batch(3, tenant=tenant)
    viewer.get(URL)
    with django_assert_num_queries(3):
        assert viewer.get(URL).json()["total"] == 3
    CustomerAttributeFactory.create_batch(10, tenant=tenant)
    with django_assert_num_queries(3):
        assert viewer.get(URL).json()["total"] == 13
