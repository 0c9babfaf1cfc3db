from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kaireon.models import Tenant
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


def test_a_customer_changed_in_the_admin_goes_through_the_service(client: Client, tenant: Tenant) -> None:
    from kaireon.models import AuditLog
    from segments.models import Customer

    user = UserFactory.create(is_staff=True, is_superuser=True)
    client.force_login(user)
    CustomerAttributeFactory.create(tenant=tenant, name="tier")
    CustomerAttributeFactory.create(tenant=tenant, name="age", type="integer")
    customer = CustomerFactory.create(tenant=tenant, external_id="c-1", attributes={"tier": "gold", "age": 30})
    change = reverse("admin:segments_customer_change", args=[customer.pk])
    form = {
        "external_id": "c-1",
        "email": "new@example.com",
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": customer.phone,
        "attributes": '{"tier": "gold"}',
    }
    refused = client.post(change, {**form, "external_id": "c-2"})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {
        "external_id": ["cannot be changed; it identifies the customer"]
    }
    assert client.post(change, form).status_code == 302
    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.email, customer.attributes) == ("new@example.com", {"tier": "gold"})  # the box is the value
    entry = AuditLog.objects.get(tenant=tenant, object_id=str(customer.pk), action="update")
    assert entry.actor_label == user.username
