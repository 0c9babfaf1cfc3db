"""Contact-policy pages: the list with each rule in words, and creating, editing and deleting
policies of each kind through the services."""

from __future__ import annotations

import re

import pytest

from decisionflows import services as df
from decisionflows.models import ContactPolicy
from kaireon.models import AuditLog, Role
from tests.decisionflows.factories import ContactPolicyFactory
from tests.pages.catalogue_fixtures import admin_of, cap_policy, field_errors, rich_flow

pytestmark = pytest.mark.django_db


def rules_in_words(page: str) -> dict[str, str]:
    rows = re.findall(
        r'<tr class="policy-row" data-policy-name="([^"]+)">.*?<td class="policy-words">([^<]*)</td>', page, flags=re.S
    )
    return dict(rows)


@pytest.mark.parametrize(
    ("role", "can_edit", "can_delete"),
    [(Role.VIEWER, False, False), (Role.EDITOR, True, False), (Role.ADMIN, True, True)],
)
def test_list_puts_every_kind_of_policy_in_words(client_as, tenant, catalogue, role, can_edit, can_delete):
    actor = admin_of(catalogue)
    cap_policy(catalogue)
    cap_policy(catalogue, name="Weekly total", max_count=5, scope="global", channel=None)
    cap_policy(catalogue, name="One loan a month", max_count=1, period="month", scope="offer", channel=None,
               offer=catalogue.offers["loan"])  # fmt: skip
    df.contact_policy_create(
        tenant=tenant, actor=actor, data={"name": "Three days apart", "policy_type": "cooldown", "cooldown_hours": 72}
    )
    df.contact_policy_create(
        tenant=tenant, actor=actor, data={"name": "Ten hours apart", "policy_type": "cooldown", "cooldown_hours": 10}
    )
    df.contact_policy_create(
        tenant=tenant,
        actor=actor,
        data={
            "name": "Opt-outs",
            "policy_type": "suppression",
            "suppress_unsubscribed": True,
            "suppress_suppressed": True,
        },
    )
    response = client_as(tenant, role).get("/catalogue/policies/")
    assert response.status_code == 200
    page = response.content.decode()
    assert rules_in_words(page) == {
        "No suppressed": "Never contact suppressed customers",
        "One loan a month": "At most 1 contact of Personal Loan per month",
        "Opt-outs": "Never contact unsubscribed or suppressed customers",
        "Ten hours apart": "The same offer at most once every 10 hours",
        "Three days apart": "The same offer at most once every 3 days",
        "Two emails a week": "At most 2 contacts per week on Email",
        "Weekly total": "At most 5 contacts per week, across every channel and offer",
    }
    assert ('href="/catalogue/policies/new/"' in page) is can_edit
    assert (page.count('action="/catalogue/policies/cp_') == 7) is can_delete


def test_list_query_count_does_not_grow_with_policies(as_viewer, catalogue, django_assert_num_queries):
    as_viewer.get("/catalogue/policies/")
    # session, user, membership (principal), count, page (channel and offer joined), switcher
    with django_assert_num_queries(6):
        as_viewer.get("/catalogue/policies/")
    for index in range(10):
        cap_policy(catalogue, name=f"channel cap {index}")
        cap_policy(catalogue, name=f"offer cap {index}", scope="offer", channel=None, offer=catalogue.offers["loan"])
    with django_assert_num_queries(6):
        response = as_viewer.get("/catalogue/policies/")
    assert len(rules_in_words(response.content.decode())) == 21


def test_other_tenants_policies_are_not_listed(as_outsider, catalogue):
    assert rules_in_words(as_outsider.get("/catalogue/policies/").content.decode()) == {}


def test_editor_creates_a_channel_cap(as_editor, catalogue):
    response = as_editor.post(
        "/catalogue/policies/new/",
        {
            "name": "SMS twice a day",
            "status": "active",
            "policy_type": "frequency_cap",
            "max_count": "2",
            "period": "day",
            "scope": "channel",
            "channel": catalogue.sms.pk,
            "offer": catalogue.offers["loan"].pk,  # left over in the hidden field: ignored for a channel scope
            "cooldown_hours": "12",  # another kind's field: ignored
        },
    )
    assert response.status_code == 302
    policy = ContactPolicy.objects.get(tenant=catalogue.tenant, name="SMS twice a day")
    assert (policy.max_count, policy.period, policy.scope) == (2, "day", "channel")
    assert policy.channel == catalogue.sms
    assert policy.offer is None
    assert policy.cooldown_hours is None
    assert AuditLog.objects.filter(tenant=catalogue.tenant, action="create", object_id=policy.pk).exists()
    page = as_editor.get("/catalogue/policies/").content.decode()
    assert rules_in_words(page)["SMS twice a day"] == "At most 2 contacts per day on SMS"


def test_each_kind_reports_its_missing_settings_beside_them(as_editor, catalogue):
    base = {"name": "New policy", "status": "active"}
    page = as_editor.post("/catalogue/policies/new/", {**base, "policy_type": "frequency_cap"}).content.decode()
    assert field_errors(page, "max_count") == ["required for frequency caps: the most contacts per period"]
    page = as_editor.post(
        "/catalogue/policies/new/", {**base, "policy_type": "frequency_cap", "max_count": "2"}
    ).content.decode()
    assert field_errors(page, "period") == ["required for frequency caps: day, week or month"]
    page = as_editor.post(
        "/catalogue/policies/new/",
        {**base, "policy_type": "frequency_cap", "max_count": "2", "period": "week", "scope": "channel"},
    ).content.decode()
    assert field_errors(page, "channel") == ["required when scope is channel"]
    assert 'aria-describedby="channel-error channel-help"' in page
    page = as_editor.post("/catalogue/policies/new/", {**base, "policy_type": "cooldown"}).content.decode()
    assert field_errors(page, "cooldown_hours") == ["required for cooldowns: hours before the same offer may go again"]
    # the kind chosen stays chosen on the re-rendered form
    assert 'id="id_policy_type_cooldown" checked' in page
    page = as_editor.post("/catalogue/policies/new/", {**base, "policy_type": "suppression"}).content.decode()
    assert field_errors(page, "suppress_unsubscribed")[0].startswith("a suppression policy drops")
    page = as_editor.post(
        "/catalogue/policies/new/", {**base, "policy_type": "cooldown", "cooldown_hours": "0"}
    ).content.decode()
    assert field_errors(page, "cooldown_hours") == ["Ensure this value is greater than or equal to 1."]
    page = as_editor.post(
        "/catalogue/policies/new/",
        {**base, "name": "No suppressed", "policy_type": "suppression", "suppress_suppressed": "on"},
    ).content.decode()
    assert field_errors(page, "name") == ["A contact policy named 'No suppressed' already exists."]
    assert not ContactPolicy.objects.filter(name="New policy").exists()


def test_edit_changes_the_kind_and_clears_the_old_settings(as_editor, catalogue):
    policy = cap_policy(catalogue)
    page = as_editor.get(f"/catalogue/policies/{policy.pk}/edit/").content.decode()
    assert 'id="id_policy_type_frequency_cap" checked' in page
    assert f'<option value="{catalogue.email.pk}" selected>' in page
    response = as_editor.post(
        f"/catalogue/policies/{policy.pk}/edit/",
        {"name": "Weekly pause", "status": "active", "policy_type": "cooldown", "cooldown_hours": "168"},
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.policy_type == "cooldown"
    assert policy.cooldown_hours == 168
    assert (policy.max_count, policy.period, policy.scope, policy.channel_id) == (None, "", "", None)


def test_viewers_may_not_change_policies(as_viewer, catalogue):
    policy = ContactPolicy.objects.get(tenant=catalogue.tenant)
    data = {"name": "x", "status": "active", "policy_type": "cooldown", "cooldown_hours": "5"}
    assert as_viewer.post("/catalogue/policies/new/", data).status_code == 403
    assert as_viewer.post(f"/catalogue/policies/{policy.pk}/edit/", data).status_code == 403
    assert as_viewer.post(f"/catalogue/policies/{policy.pk}/delete/").status_code == 403
    assert ContactPolicy.objects.filter(tenant=catalogue.tenant).count() == 1


def test_only_admins_delete_and_a_policy_named_by_a_flow_stays(as_editor, as_admin, catalogue):
    spare = ContactPolicyFactory.create(tenant=catalogue.tenant)
    assert as_editor.post(f"/catalogue/policies/{spare.pk}/delete/").status_code == 403
    assert as_admin.post(f"/catalogue/policies/{spare.pk}/delete/").status_code == 302
    assert not ContactPolicy.objects.filter(pk=spare.pk).exists()
    flow = rich_flow(catalogue)
    named = flow.pipeline[2]["policy_ids"][0]
    response = as_admin.post(f"/catalogue/policies/{named}/delete/", follow=True)
    assert ContactPolicy.objects.filter(pk=named).exists()
    assert "used in the pipeline of decision flow(s) rich" in response.content.decode()


def test_another_tenants_policy_is_404(as_outsider, catalogue):
    policy = ContactPolicy.objects.get(tenant=catalogue.tenant)
    assert as_outsider.get(f"/catalogue/policies/{policy.pk}/edit/").status_code == 404
    assert as_outsider.post(f"/catalogue/policies/{policy.pk}/delete/").status_code == 404
