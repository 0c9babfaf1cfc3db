from __future__ import annotations

import pytest

from kaireon.models import AuditLog
from segments.models import Customer
from tests.segments.factories import CustomerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers"


def body(**overrides):
    data = {
        "externalId": "cust-1",
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "attributes": {"age": 36, "tier": "gold", "birthday": "1815-12-10"},
    }
    data.update(overrides)
    return data


# --- roles and tenants -------------------------------------------------------------------


def test_viewer_reads_editor_writes_admin_deletes(viewer, editor, admin, tenant, schema):
    assert viewer.post(URL, body(), format="json").status_code == 403
    created = editor.post(URL, body(), format="json")
    assert created.status_code == 201, created.content
    assert created["Location"].endswith("/api/v1/customers/cust-1")
    assert viewer.get(URL).status_code == 200
    assert viewer.get(f"{URL}/cust-1").status_code == 200
    assert viewer.patch(f"{URL}/cust-1", {"firstName": "A"}, format="json").status_code == 403
    assert editor.patch(f"{URL}/cust-1", {"firstName": "A"}, format="json").status_code == 200
    assert editor.put(f"{URL}/cust-1", body(firstName="B"), format="json").status_code == 200
    assert editor.delete(f"{URL}/cust-1").status_code == 403
    assert admin.delete(f"{URL}/cust-1").status_code == 204
    assert not Customer.objects.filter(tenant=tenant).exists()
    actions = list(AuditLog.objects.filter(tenant=tenant, object_type="customer").values_list("action", flat=True))
    assert sorted(actions) == ["create", "delete", "update", "update"]


def test_another_tenants_customer_is_404_everywhere(outsider, tenant):
    CustomerFactory.create(tenant=tenant, external_id="mine")
    assert outsider.get(f"{URL}/mine").status_code == 404
    assert outsider.patch(f"{URL}/mine", {"firstName": "X"}, format="json").status_code == 404
    assert outsider.put(f"{URL}/mine", body(externalId="mine"), format="json").status_code == 404
    assert outsider.delete(f"{URL}/mine").status_code == 404
    assert outsider.get(URL).json() == {"customers": [], "total": 0}
    assert Customer.objects.get(external_id="mine").first_name == "Ada"


def test_anonymous_is_401(anonymous):
    assert anonymous.get(URL).status_code == 401


# --- representation and lookup -----------------------------------------------------------


def test_attributes_keys_pass_through_unchanged_and_fields_are_camel_case(editor, tenant, schema):
    from tests.segments.factories import CustomerAttributeFactory

    CustomerAttributeFactory.create(tenant=tenant, name="loyalty_points", type="integer")
    response = editor.post(URL, body(attributes={"tier": "gold", "loyalty_points": 7}), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["attributes"] == {"tier": "gold", "loyalty_points": 7}
    assert data["externalId"] == "cust-1"
    assert isinstance(data["id"], int)
    assert data["createdAt"].endswith("Z")


def test_customer_is_addressed_by_external_id_with_odd_characters(viewer, tenant):
    CustomerFactory.create(tenant=tenant, external_id="ACME:42 (Ö)")
    response = viewer.get(f"{URL}/ACME:42%20(%C3%96)")
    assert response.status_code == 200, response.content
    assert response.json()["externalId"] == "ACME:42 (Ö)"
    assert viewer.get(f"{URL}/nope").status_code == 404


def test_external_id_cannot_change_or_contain_a_slash(editor, tenant, schema):
    assert editor.post(URL, body(), format="json").status_code == 201
    response = editor.patch(f"{URL}/cust-1", {"externalId": "other"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"externalId": ["cannot be changed; it identifies the customer"]}
    response = editor.post(URL, body(externalId="a/b"), format="json")
    assert response.status_code == 400
    assert "externalId" in response.json()["fields"]


def test_duplicate_external_id_is_409(editor, tenant, schema):
    assert editor.post(URL, body(), format="json").status_code == 201
    response = editor.post(URL, body(), format="json")
    assert response.status_code == 409
    assert "cust-1" in response.json()["error"]


# --- attribute validation ----------------------------------------------------------------


def test_unknown_attribute_is_400_naming_it(editor, schema):
    response = editor.post(URL, body(attributes={"tier": "gold", "shoe_size": 9}), format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "attributes.shoe_size: unknown attribute: it is not in the customer schema"
    # The renderer camel-cases every key with an underscore, the "fields" paths included.
    assert list(response.json()["fields"]) == ["attributes.shoe_size"]
    response = editor.post(URL, body(attributes={"tier": "gold", "colour": "red"}), format="json")
    assert response.json()["fields"] == {"attributes.colour": ["unknown attribute: it is not in the customer schema"]}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("age", "36", "expected an integer, got '36'"),
        ("age", 36.5, "expected an integer, got 36.5"),
        ("score", True, "expected a number, got True"),
        ("vip", "yes", "expected true or false, got 'yes'"),
        ("birthday", "10/12/1815", "expected a date as YYYY-MM-DD, got '10/12/1815'"),
        ("birthday", "2023-02-30", "expected a date as YYYY-MM-DD, got '2023-02-30'"),
        ("tier", 3, "expected a string, got 3"),
    ],
)
def test_wrong_attribute_type_is_400(editor, schema, name, value, message):
    attributes = {"tier": "gold", name: value}
    response = editor.post(URL, body(attributes=attributes), format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {f"attributes.{name}": [message]}


def test_missing_required_attribute_is_400(editor, schema):
    response = editor.post(URL, body(attributes={"age": 3}), format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"attributes.tier": ["required by the customer schema"]}


def test_patch_merges_attributes_and_put_replaces_them(editor, tenant, schema):
    editor.post(URL, body(attributes={"age": 3, "tier": "gold", "vip": True}), format="json")
    response = editor.patch(f"{URL}/cust-1", {"attributes": {"age": 4, "vip": None}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["attributes"] == {"age": 4, "tier": "gold"}
    # PATCH cannot remove a required attribute
    response = editor.patch(f"{URL}/cust-1", {"attributes": {"tier": None}}, format="json")
    assert response.status_code == 400
    response = editor.put(f"{URL}/cust-1", body(attributes={"tier": "silver"}), format="json")
    assert response.status_code == 200
    assert Customer.objects.get(tenant=tenant).attributes == {"tier": "silver"}


# --- list --------------------------------------------------------------------------------


def test_list_filters(viewer, tenant, other_tenant):
    CustomerFactory.create(tenant=tenant, external_id="A-1", email="ann@example.com", first_name="Ann", suppressed=True)
    CustomerFactory.create(
        tenant=tenant, external_id="B-2", email="bob@example.com", first_name="Bob", unsubscribed=True
    )
    CustomerFactory.create(tenant=tenant, external_id="C-3", email="cy@example.com", last_name="Annable")
    CustomerFactory.create(tenant=other_tenant, external_id="A-1", email="ann@example.com")

    def ids(query: str) -> list[str]:
        response = viewer.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return [c["externalId"] for c in response.json()["customers"]]

    assert ids("") == ["A-1", "B-2", "C-3"]
    assert ids("q=ann") == ["A-1", "C-3"]
    assert ids("externalId=B-2") == ["B-2"]
    assert ids("email=cy@example.com") == ["C-3"]
    assert ids("suppressed=true") == ["A-1"]
    assert ids("unsubscribed=true") == ["B-2"]
    assert ids("suppressed=false&unsubscribed=false") == ["C-3"]
    response = viewer.get(f"{URL}?limit=2&offset=1").json()
    assert [c["externalId"] for c in response["customers"]] == ["B-2", "C-3"]
    assert response["total"] == 3


def test_list_limit_is_capped_and_validated(viewer, tenant):
    CustomerFactory.create_batch(3, tenant=tenant)
    assert viewer.get(f"{URL}?limit=100000").status_code == 200
    assert viewer.get(f"{URL}?limit=0").status_code == 400


def test_list_query_count_is_constant(viewer, tenant, django_assert_num_queries):
    CustomerFactory.create_batch(5, tenant=tenant, attributes={"tier": "gold"})
    viewer.get(URL)  # the key's last_used_at is written on first use
    with django_assert_num_queries(3):  # API key, count, page
        response = viewer.get(URL)
    assert response.json()["total"] == 5
    CustomerFactory.create_batch(20, tenant=tenant)
    with django_assert_num_queries(3):
        assert len(viewer.get(URL).json()["customers"]) == 25
