"""The admin writes through the services: audited as the admin user, checked once (errors beside
their fields, refusals as messages), and shows what no service writes read-only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import reverse

from campaigns.models import CampaignRun
from decisionflows import services as df
from decisionflows.models import ContactHistory, ContactPolicy, DecisionFlowVersion, Offer
from journeys.models import ExecutionRun, IdempotencyKey, JourneyClock, Send
from kaireon.models import ApiKey, AuditLog, Membership, Role, Tenant
from kaireon.principal import Principal
from kaireon.services import api_key_create
from runs.models import RunChunk
from segments.models import CustomerImport

pytestmark = pytest.mark.django_db

Staff = tuple[Client, Any]


@pytest.fixture
def staff(db: None) -> Staff:
    client = Client()
    # force_login needs no password: skip the factory's (deliberately slow) hashing
    user = get_user_model().objects.create(username="ops", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client, user


def offer_form(tenant: Tenant, **extra: Any) -> dict[str, Any]:
    return {
        "tenant": tenant.pk,
        "key": "gold",
        "name": "Gold card",
        "description": "",
        "category": "cards",
        "status": "active",
        "priority": "50",
        "business_value": "10",
        "start_date": "",
        "end_date": "",
        "eligibility": "{}",
        "tags": "[]",
        "creatives-TOTAL_FORMS": "0",
        "creatives-INITIAL_FORMS": "0",
        **extra,
    }


def policy_form(tenant: Tenant, **extra: Any) -> dict[str, Any]:
    return {
        "tenant": tenant.pk,
        "name": "Three a week",
        "description": "",
        "status": "active",
        "policy_type": "frequency_cap",
        "max_count": "3",
        "period": "week",
        "scope": "global",
        "channel": "",
        "offer": "",
        "cooldown_hours": "",
        **extra,
    }


def entries(tenant: Tenant, object_id: str) -> list[tuple[str, str, str, str]]:
    rows = AuditLog.objects.filter(tenant=tenant, object_id=object_id).order_by("id")
    return [(e.action, e.actor_type, e.actor_id, e.actor_label) for e in rows]


def field_errors(response: Any) -> dict[str | None, list[str]]:
    form = response.context["adminform"].form
    return {key if key != "__all__" else None: list(value) for key, value in form.errors.items()}


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def published_flow_using(tenant: Tenant, offer: Offer) -> None:
    actor = Principal(tenant=tenant, role=Role.ADMIN)
    pipeline = [{"type": "inventory", "offer_ids": [offer.pk]}, {"type": "score"}, {"type": "rank"}, {"type": "output"}]
    flow = df.decision_flow_create(
        tenant=tenant, actor=actor, data={"key": "nba", "name": "NBA", "status": "active", "pipeline": pipeline}
    )
    df.decision_flow_publish(tenant=tenant, actor=actor, flow=flow)


@pytest.mark.parametrize(
    ("model", "form", "change"),
    [(Offer, offer_form, {"name": "Gold card plus"}), (ContactPolicy, policy_form, {"max_count": "5"})],
    ids=["offer", "contactpolicy"],
)
def test_created_changed_and_deleted_in_the_admin_is_audited_as_the_admin_user(
    staff: Staff, tenant: Tenant, model: type[Model], form: Callable[..., dict[str, Any]], change: dict[str, str]
) -> None:
    client, user = staff
    url = f"admin:decisionflows_{model._meta.model_name}"
    response = client.post(reverse(f"{url}_add"), form(tenant))
    assert response.status_code == 302, response.content.decode()[:2000]
    obj = model._default_manager.get()
    response = client.post(reverse(f"{url}_change", args=[obj.pk]), form(tenant, **change))
    assert response.status_code == 302, response.content.decode()[:2000]
    ((field, value),) = change.items()
    assert str(getattr(model._default_manager.get(pk=obj.pk), field)) == value
    response = client.post(reverse(f"{url}_delete", args=[obj.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not model._default_manager.filter(pk=obj.pk).exists()
    me = ("user", str(user.pk), "ops")
    assert entries(tenant, obj.pk) == [("create", *me), ("update", *me), ("delete", *me)]
    update = AuditLog.objects.get(tenant=tenant, object_id=obj.pk, action="update")
    assert isinstance(update.after, dict)
    assert list(update.after) == [field]


def test_deleting_an_offer_a_published_flow_uses_is_refused_with_a_message(staff: Staff, tenant: Tenant) -> None:
    client, _ = staff
    offer = df.offer_create(tenant=tenant, actor=None, data={"key": "gold", "name": "Gold"})
    published_flow_using(tenant, offer)
    delete = reverse("admin:decisionflows_offer_delete", args=[offer.pk])
    response = client.post(delete, {"post": "yes"})
    assert response.status_code == 302
    assert Offer.objects.filter(pk=offer.pk).exists()
    assert [action for action, *_ in entries(tenant, offer.pk)] == ["create"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert any("used in the pipeline of decision flow(s) nba" in text for text in messages_of(page))


def test_bulk_delete_goes_through_the_service_and_deletes_nothing_when_one_is_refused(
    staff: Staff, tenant: Tenant
) -> None:
    client, _ = staff
    free = df.offer_create(tenant=tenant, actor=None, data={"key": "free", "name": "Free"})
    used = df.offer_create(tenant=tenant, actor=None, data={"key": "used", "name": "Used"})
    published_flow_using(tenant, used)
    changelist = reverse("admin:decisionflows_offer_changelist")
    action = {"action": "delete_selected", "_selected_action": [free.pk, used.pk], "post": "yes"}
    response = client.post(changelist, action, follow=True)
    assert response.status_code == 200
    assert Offer.objects.filter(pk__in=[free.pk, used.pk]).count() == 2
    assert any("Nothing was deleted" in text and "nba" in text for text in messages_of(response))
    # Django logs a bulk delete before deleting: the refusal rolls that history back too
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()
    response = client.post(changelist, {**action, "_selected_action": [free.pk]})
    assert response.status_code == 302
    assert not Offer.objects.filter(pk=free.pk).exists()
    assert [action for action, *_ in entries(tenant, free.pk)] == ["create", "delete"]


def test_the_services_refusal_of_an_offer_shows_beside_its_field(staff: Staff, tenant: Tenant) -> None:
    client, _ = staff
    response = client.post(reverse("admin:decisionflows_offer_add"), offer_form(tenant, tags='["ok", " "]'))
    assert response.status_code == 200
    assert field_errors(response) == {"tags": ["tags[1]: a tag is a non-empty string"]}
    assert not Offer.objects.exists()
    assert not AuditLog.objects.filter(tenant=tenant).exists()


def test_the_services_refusal_of_a_policy_shows_beside_its_field(staff: Staff, tenant: Tenant) -> None:
    client, _ = staff
    policy = df.contact_policy_create(
        tenant=tenant, actor=None, data={"name": "Cap", "policy_type": "frequency_cap", "max_count": 3, "period": "day"}
    )
    change = reverse("admin:decisionflows_contactpolicy_change", args=[policy.pk])
    response = client.post(change, policy_form(tenant, name="Cap", scope="channel"))
    assert response.status_code == 200
    assert field_errors(response) == {"channel": ["required when scope is channel"]}
    assert ContactPolicy.objects.get(pk=policy.pk).scope == "global"


def test_renaming_a_tenant_and_changing_a_role_in_the_admin_are_audited(staff: Staff, tenant: Tenant) -> None:
    client, user = staff
    change = reverse("admin:kaireon_tenant_change", args=[tenant.pk])
    form = {"name": "Renamed", "slug": tenant.slug, "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}
    assert client.post(change, form).status_code == 302
    membership = Membership.objects.create(tenant=tenant, user=user, role=Role.VIEWER)
    change = reverse("admin:kaireon_membership_change", args=[membership.pk])
    assert client.post(change, {"role": Role.EDITOR}).status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == Role.EDITOR
    rows = AuditLog.objects.filter(tenant=tenant, actor_label="ops").order_by("id")
    assert [(e.object_type, e.action, e.after) for e in rows] == [
        ("tenant", "update", {"name": "Renamed"}),
        ("membership", "update", {"user": "ops", "role": Role.EDITOR}),
    ]


def test_revoking_api_keys_in_the_admin_goes_through_the_service(staff: Staff, tenant: Tenant) -> None:
    client, _ = staff
    key, _ = api_key_create(tenant=tenant, actor=None, name="ci")
    changelist = reverse("admin:kaireon_apikey_changelist")
    response = client.post(changelist, {"action": "revoke", "_selected_action": [key.pk]})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert [action for action, *_ in entries(tenant, key.pk)] == ["create", "revoke"]


READ_ONLY = [
    ApiKey,
    ContactHistory,
    DecisionFlowVersion,
    CustomerImport,
    CampaignRun,
    RunChunk,
    ExecutionRun,
    Send,
    IdempotencyKey,
    JourneyClock,
]


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model._meta.label)
def test_what_no_service_writes_is_read_only_in_the_admin(staff: Staff, model: type[Model]) -> None:
    client, user = staff
    request = RequestFactory().get("/admin/")
    request.user = user
    model_admin = admin.site._registry[model]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)
    opts = model._meta
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
