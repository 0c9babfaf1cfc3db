from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.segments.factories import CustomerAttributeFactory, CustomerFactory, CustomerImportFactory, SegmentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["customer", "customerattribute", "segment", "customerimport"])
def test_admin_lists_searches_and_opens_every_model(client, tenant, model):
    user = UserFactory.create(is_staff=True, is_superuser=True)
    client.force_login(user)
    objects = {
        "customer": CustomerFactory.create(tenant=tenant, external_id="adm-1"),
        "customerattribute": CustomerAttributeFactory.create(tenant=tenant, name="adm_attr"),
        "segment": SegmentFactory.create(tenant=tenant, name="adm segment"),
        "customerimport": CustomerImportFactory.create(tenant=tenant, file_name="adm.csv"),
    }
    changelist = reverse(f"admin:segments_{model}_changelist")
    response = client.get(changelist, {"q": "adm"})
    assert response.status_code == 200
    assert b"adm" in response.content
    change = reverse(f"admin:segments_{model}_change", args=[objects[model].pk])
    assert client.get(change).status_code == 200
