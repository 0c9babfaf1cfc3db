from __future__ import annotations


def test_api_key_lists_its_tenant(admin, tenant):
    response = admin.get("/api/v1/tenants")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "tenants": [
            {
                "id": tenant.pk,
                "slug": "acme",
                "name": "Acme Bank",
                "role": "admin",
                "createdAt": response.json()["tenants"][0]["createdAt"],
                "updatedAt": response.json()["tenants"][0]["updatedAt"],
            }
        ],
        "total": 1,
    }
