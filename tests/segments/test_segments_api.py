"""Segments through the API and their database views (on whichever database the suite runs)."""

from __future__ import annotations

import pytest
from django.db import connection

from kaireon.models import AuditLog
from segments import selectors, services
from segments.models import Segment
from tests.segments.factories import CustomerAttributeFactory, CustomerFactory, SegmentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/segments"
ADULTS = {"field": "age", "operator": "gte", "value": 18}


@pytest.fixture
def customers(tenant, other_tenant):
    CustomerAttributeFactory.create(tenant=tenant, name="age", type="integer")
    CustomerAttributeFactory.create(tenant=tenant, name="tier", type="string")
    made = [
        CustomerFactory.create(tenant=tenant, external_id=f"c{age}", attributes={"age": age, "tier": tier})
        for age, tier in [(12, "gold"), (18, "silver"), (30, "gold"), (45, "bronze"), (70, "gold")]
    ]
    CustomerFactory.create(tenant=other_tenant, external_id="other", attributes={"age": 40})
    return made


def view_exists(name: str) -> bool:
    return name in connection.introspection.table_names(include_views=True)


# --- roles and tenants -------------------------------------------------------------------


def test_viewer_reads_editor_writes_admin_deletes(viewer, editor, admin, tenant, customers):
    assert viewer.post(URL, {"name": "Adults", "filters": ADULTS}, format="json").status_code == 403
    response = editor.post(URL, {"name": "Adults", "filters": ADULTS}, format="json")
    assert response.status_code == 201, response.content
    segment_id = response.json()["id"]
    assert viewer.get(URL).json()["total"] == 1
    assert viewer.get(f"{URL}/{segment_id}").status_code == 200
    assert viewer.get(f"{URL}/{segment_id}/customers").status_code == 200
    assert viewer.post(f"{URL}/preview", {"filters": ADULTS}, format="json").status_code == 200
    assert viewer.post(f"{URL}/{segment_id}/refresh").status_code == 403
    assert viewer.patch(f"{URL}/{segment_id}", {"description": "x"}, format="json").status_code == 403
    assert editor.post(f"{URL}/{segment_id}/refresh").status_code == 200
    assert editor.patch(f"{URL}/{segment_id}", {"description": "People of age"}, format="json").status_code == 200
    assert editor.delete(f"{URL}/{segment_id}").status_code == 403
    assert admin.delete(f"{URL}/{segment_id}").status_code == 204
    actions = AuditLog.objects.filter(tenant=tenant, object_type="segment").values_list("action", flat=True)
    assert sorted(actions) == ["create", "delete", "refresh", "update"]


def test_another_tenants_segment_is_404_everywhere(outsider, tenant, customers, system_actor):
    segment = services.segment_create(tenant=tenant, actor=system_actor, data={"name": "All"})
    for method, path in [
        ("get", f"{URL}/{segment.pk}"),
        ("get", f"{URL}/{segment.pk}/customers"),
        ("post", f"{URL}/{segment.pk}/refresh"),
        ("patch", f"{URL}/{segment.pk}"),
        ("delete", f"{URL}/{segment.pk}"),
    ]:
        assert getattr(outsider, method)(path, {}, format="json").status_code == 404, (method, path)
    assert outsider.get(URL).json() == {"segments": [], "total": 0}
    # the outsider's preview sees its own tenant only
    preview = outsider.post(f"{URL}/preview", {}, format="json").json()
    assert (preview["count"], [c["externalId"] for c in preview["sample"]]) == (1, ["other"])
    assert view_exists(segment.view_name)


# --- views -------------------------------------------------------------------------------


def test_create_makes_a_view_with_the_right_count(editor, tenant, customers):
    response = editor.post(
        URL, {"name": "Gold adults", "filters": {"all": [ADULTS, {"field": "tier", "operator": "eq", "value": "gold"}]}}
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["customerCount"] == 2
    assert data["hasView"] is True
    assert data["lastRefreshedAt"].endswith("Z")
    segment = Segment.objects.get(pk=data["id"])
    assert segment.view_name == f"segv_{segment.pk}"
    assert view_exists(segment.view_name)
    assert selectors.segment_view_exists(segment)
    expected = sorted(c.id for c in customers if c.attributes["age"] >= 18 and c.attributes["tier"] == "gold")
    assert selectors.segment_customer_ids(segment, 0, 100) == expected


def test_empty_filters_select_every_customer_of_the_tenant(editor, customers):
    data = editor.post(URL, {"name": "Everyone"}, format="json").json()
    assert data["customerCount"] == len(customers)
    assert data["filters"] == {}


def test_refresh_recounts_after_customers_change(editor, tenant, customers):
    segment_id = editor.post(URL, {"name": "Adults", "filters": ADULTS}, format="json").json()["id"]
    CustomerFactory.create(tenant=tenant, external_id="new-adult", attributes={"age": 50})
    CustomerFactory.create(tenant=tenant, external_id="new-child", attributes={"age": 5})
    customers[1].delete()  # the 18-year-old
    segment = Segment.objects.get(pk=segment_id)
    assert segment.customer_count == 4  # stored until refreshed
    assert selectors.segment_count(segment) == 4  # the view is live: 4 - 1 + 1
    response = editor.post(f"{URL}/{segment_id}/refresh")
    assert response.status_code == 200
    assert response.json()["customerCount"] == 4
    CustomerFactory.create(tenant=tenant, external_id="another-adult", attributes={"age": 60})
    assert editor.post(f"{URL}/{segment_id}/refresh").json()["customerCount"] == 5


def test_update_with_new_filters_replaces_the_view(editor, tenant, customers):
    segment_id = editor.post(URL, {"name": "Adults", "filters": ADULTS}, format="json").json()["id"]
    response = editor.patch(
        f"{URL}/{segment_id}", {"filters": {"field": "customer.tier", "operator": "in", "value": ["bronze"]}}
    )
    assert response.status_code == 200, response.content
    assert response.json()["customerCount"] == 1
    assert response.json()["filters"] == {"field": "tier", "operator": "in", "value": ["bronze"]}
    segment = Segment.objects.get(pk=segment_id)
    assert selectors.segment_customer_ids(segment) == [customers[3].id]


def test_delete_drops_the_view(admin, tenant, customers, system_actor):
    segment = services.segment_create(tenant=tenant, actor=system_actor, data={"name": "Adults", "filters": ADULTS})
    assert view_exists(segment.view_name)
    assert admin.delete(f"{URL}/{segment.pk}").status_code == 204
    assert not view_exists(segment.view_name)
    assert not Segment.objects.filter(pk=segment.pk).exists()


def test_refresh_creates_a_missing_view(editor, tenant, customers):
    segment = SegmentFactory.create(tenant=tenant, filters=ADULTS)  # a row without a view
    assert not segment.has_view
    assert not selectors.segment_view_exists(segment)
    assert editor.get(f"{URL}/{segment.pk}/customers").status_code == 409
    response = editor.post(f"{URL}/{segment.pk}/refresh")
    assert response.json()["hasView"] is True
    assert response.json()["customerCount"] == 4
    segment.refresh_from_db()
    assert selectors.segment_view_exists(segment)


def test_segment_customers_pages_by_keyset(viewer, tenant, customers, system_actor):
    segment = services.segment_create(tenant=tenant, actor=system_actor, data={"name": "Adults", "filters": ADULTS})
    adults = sorted(c.id for c in customers if c.attributes["age"] >= 18)
    first = viewer.get(f"{URL}/{segment.pk}/customers?limit=3").json()
    assert [c["id"] for c in first["customers"]] == adults[:3]
    assert first["nextAfter"] == adults[2]
    second = viewer.get(f"{URL}/{segment.pk}/customers?limit=3&after={first['nextAfter']}").json()
    assert [c["id"] for c in second["customers"]] == adults[3:]
    assert second["nextAfter"] is None
    assert second["customers"][0]["attributes"] == {"age": 70, "tier": "gold"}
    assert viewer.get(f"{URL}/{segment.pk}/customers?limit=1000").status_code == 400


# --- validation and injection ------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "path"),
    [
        ({"field": "shoe_size", "operator": "eq", "value": 9}, "filters.field"),
        ({"all": [ADULTS, {"field": "age", "operator": "gte", "value": "eighteen"}]}, "filters.all[1].value"),
        ({"field": "tier", "operator": "gt", "value": "a"}, "filters.operator"),
        ({"any": [{"field": "age", "operator": "in", "value": []}]}, "filters.any[0].value"),
        ({"field": "age; DROP TABLE segments_customer; --", "operator": "is_null"}, "filters.field"),
        ([1, 2], "filters"),
        ({"any": []}, "filters.any"),
        ({"all": [ADULTS, {"any": []}]}, "filters.all[1].any"),
    ],
)
def test_invalid_filters_are_400_naming_the_path(editor, customers, filters, path):
    response = editor.post(URL, {"name": "Bad", "filters": filters}, format="json")
    assert response.status_code == 400, response.content
    assert path in response.json()["fields"], response.json()
    assert not Segment.objects.exists()


def test_sql_in_a_string_value_is_inert(editor, tenant, customers):
    hostile = "gold' OR '1'='1'; DROP TABLE segments_customer; --"
    response = editor.post(URL, {"name": "Hostile", "filters": {"field": "tier", "operator": "eq", "value": hostile}})
    assert response.status_code == 201, response.content
    assert response.json()["customerCount"] == 0
    CustomerFactory.create(tenant=tenant, external_id="weird", attributes={"age": 1, "tier": hostile})
    segment_id = response.json()["id"]
    assert editor.post(f"{URL}/{segment_id}/refresh").json()["customerCount"] == 1


def test_duplicate_name_is_400(editor, customers):
    assert editor.post(URL, {"name": "Adults", "filters": ADULTS}, format="json").status_code == 201
    response = editor.post(URL, {"name": "Adults"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["fields"]


# --- preview -----------------------------------------------------------------------------


def test_preview_counts_and_samples_without_saving(viewer, tenant, customers):
    response = viewer.post(f"{URL}/preview", {"filters": {"field": "tier", "operator": "eq", "value": "gold"}})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["count"] == 3
    assert [c["externalId"] for c in data["sample"]] == ["c12", "c30", "c70"]
    assert not Segment.objects.exists()


def test_preview_sample_is_the_first_twenty(viewer, tenant):
    CustomerFactory.create_batch(25, tenant=tenant)
    data = viewer.post(f"{URL}/preview", {}, format="json").json()
    assert data["count"] == 25
    assert len(data["sample"]) == 20
    assert [c["id"] for c in data["sample"]] == sorted(c["id"] for c in data["sample"])


def test_preview_rejects_invalid_filters(viewer, customers):
    response = viewer.post(f"{URL}/preview", {"filters": {"field": "age", "operator": "contains", "value": 1}})
    assert response.status_code == 400
    assert "filters.operator" in response.json()["fields"]


# --- lists -------------------------------------------------------------------------------


def test_list_query_count_is_constant(viewer, tenant, django_assert_num_queries):
    SegmentFactory.create_batch(2, tenant=tenant)
    viewer.get(URL)
    with django_assert_num_queries(3):  # API key, count, page
        assert viewer.get(URL).json()["total"] == 2
    SegmentFactory.create_batch(10, tenant=tenant)
    with django_assert_num_queries(3):
        assert viewer.get(URL).json()["total"] == 12
