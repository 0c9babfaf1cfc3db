"""Decision-flow pages: the list, the detail drawing the pipeline node by node with its
versions, publishing, and creating, editing and deleting flows through the services."""

from __future__ import annotations

import json
import re

import pytest

from decisionflows.models import DecisionFlow, DecisionFlowVersion
from kaireon.models import AuditLog, Role
from tests.decisionflows.factories import DecisionFlowFactory
from tests.pages.catalogue_fixtures import field_errors, rich_flow, text_of
from tests.pages.conftest import new_run

pytestmark = pytest.mark.django_db


def flow_keys(page: str) -> list[str]:
    return re.findall(r'<tr class="flow-row" data-flow-key="([^"]+)"', page)


def node_types(page: str) -> list[str]:
    return re.findall(r'<li class="df-node df-node-[a-z_]+" data-node-type="([a-z_]+)">', page)


def node_text(page: str, number: int) -> str:
    cards = re.findall(r'<li class="df-node .*?</li>\s*(?=<li class="df-node |</ol>)', page, flags=re.S)
    return text_of(cards[number - 1])


def textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page, flags=re.S)
    assert match is not None
    import html

    return html.unescape(match.group(1))


# --- list ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "can_create"), [(Role.VIEWER, False), (Role.EDITOR, True), (Role.ADMIN, True)])
def test_list_shows_status_and_published_version(client_as, tenant, catalogue, role, can_create):
    DecisionFlowFactory.create(tenant=tenant, key="sketch", name="Sketch", pipeline=[])
    response = client_as(tenant, role).get("/catalogue/flows/")
    assert response.status_code == 200
    page = response.content.decode()
    assert flow_keys(page) == ["sketch", "nba"]
    text = text_of(page)
    assert "Sketch sketch Draft Never published — Empty sketch" in text
    assert re.search(r"Next Best Action nba Active Version 1 \d+ \w+ \d{4}, \d\d:\d\d just now", text)
    assert '<ol class="df-chain" aria-label="5 nodes"><li>Inventory</li><li>Contact policies</li>' in page
    assert ('href="/catalogue/flows/new/"' in page) is can_create


def test_list_filters_by_name_key_and_status(as_viewer, catalogue):
    DecisionFlowFactory.create(tenant=catalogue.tenant, key="winback", name="Win back", status="paused")
    assert flow_keys(as_viewer.get("/catalogue/flows/?q=win").content.decode()) == ["winback"]
    assert flow_keys(as_viewer.get("/catalogue/flows/?q=NEXT").content.decode()) == ["nba"]
    assert flow_keys(as_viewer.get("/catalogue/flows/?q=nba").content.decode()) == ["winback", "nba"]  # w-i-n-b-a-ck
    assert flow_keys(as_viewer.get("/catalogue/flows/?status=paused").content.decode()) == ["winback"]
    assert "No decision flows match" in as_viewer.get("/catalogue/flows/?status=archived").content.decode()


def test_list_query_count_does_not_grow_with_flows(as_viewer, catalogue, django_assert_num_queries):
    as_viewer.get("/catalogue/flows/")
    # session, user, membership (principal), count, page (last publication aggregated), switcher
    with django_assert_num_queries(6):
        as_viewer.get("/catalogue/flows/")
    for index in range(12):
        flow = DecisionFlowFactory.create(tenant=catalogue.tenant, key=f"f{index}")
        DecisionFlowVersion.objects.create(tenant=catalogue.tenant, flow=flow, version=1, pipeline=flow.pipeline)
    with django_assert_num_queries(6):
        response = as_viewer.get("/catalogue/flows/")
    assert len(flow_keys(response.content.decode())) == 13


def test_other_tenants_flows_are_not_listed(as_outsider, catalogue):
    assert flow_keys(as_outsider.get("/catalogue/flows/").content.decode()) == []


# --- detail --------------------------------------------------------------------------------


def test_detail_draws_every_node_in_order_with_its_configuration_in_words(as_viewer, catalogue):
    flow = rich_flow(catalogue)
    response = as_viewer.get(f"/catalogue/flows/{flow.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert node_types(page) == ["inventory", "qualify", "contact_policy", "score", "rank", "output"]
    assert "Active offers in category retail and these offers: Personal Loan loan" in node_text(page, 1)
    qualify = node_text(page, 2)
    assert "Adults only Hard Keeps the offer when customer age is at least 18" in qualify
    assert (
        "Gold or silver Soft · fit \N{MULTIPLICATION SIGN} 0.5 "
        "Fits when any of: customer tier is “gold” customer tier is “silver”" in qualify
    )
    assert "These contact policies: Two emails a week — At most 2 contacts per week on Email" in node_text(page, 3)
    score = node_text(page, 4)
    assert "PRIE" in score
    assert "Propensity 0.5 Relevance 0.1 Impact 0.3 Emphasis 0.1" in score
    assert "scorecard starting at 0.4" in score
    assert "+0.3 when customer tier is “gold”" in score
    assert "The best 2 offers per customer, highest score first. At most one offer per channel." in node_text(page, 5)
    assert "customer_id offer_key score" in node_text(page, 6)
    assert 'style="width: 50.0%"' in page  # the propensity weight's bar


def test_detail_of_the_default_nodes(as_viewer, catalogue):
    page = as_viewer.get(f"/catalogue/flows/{catalogue.flow.pk}/").content.decode()
    assert node_types(page) == ["inventory", "contact_policy", "score", "rank", "output"]
    assert "Every active offer in the catalogue." in node_text(page, 1)
    policies = node_text(page, 2)
    assert "Every active contact policy of the tenant: No suppressed — Never contact suppressed customers" in policies
    assert "Propensity: 0.5 for every customer (no scorecard)." in node_text(page, 3)
    assert "one offer per channel" in node_text(page, 4).lower()


def test_detail_lists_versions_and_marks_the_live_one(as_viewer, catalogue):
    flow = rich_flow(catalogue)
    page = as_viewer.get(f"/catalogue/flows/{flow.pk}/").content.decode()
    versions = re.findall(r'<tr class="version-row" data-version="(\d+)">', page)
    assert versions == ["1"]
    assert '<span class="badge badge-ok">Live</span>' in page
    assert f'href="/catalogue/flows/{flow.pk}/versions/1/"' in page
    assert "unpublished-note" not in page


def test_publish_is_offered_only_when_the_pipeline_changed(as_editor, catalogue):
    flow = catalogue.flow
    page = as_editor.get(f"/catalogue/flows/{flow.pk}/").content.decode()
    assert re.search(r'<button type="submit" class="btn" id="publish-flow" disabled title="Nothing to publish', page)
    DecisionFlow.objects.filter(pk=flow.pk).update(
        pipeline=[*flow.pipeline[:3], {**flow.pipeline[3], "max_offers_per_customer": 3}, flow.pipeline[4]]
    )
    page = as_editor.get(f"/catalogue/flows/{flow.pk}/").content.decode()
    assert '<button type="submit" class="btn btn-primary" id="publish-flow">Publish version 2</button>' in page


@pytest.mark.parametrize(
    ("role", "can_edit", "can_delete"),
    [(Role.VIEWER, False, False), (Role.EDITOR, True, False), (Role.ADMIN, True, True)],
)
def test_detail_actions_follow_the_role(client_as, tenant, catalogue, role, can_edit, can_delete):
    page = client_as(tenant, role).get(f"/catalogue/flows/{catalogue.flow.pk}/").content.decode()
    assert ('id="edit-flow"' in page) is can_edit
    assert ('id="publish-flow"' in page) is can_edit
    assert (f'href="/runs/new/?decision_flow={catalogue.flow.pk}"' in page) is can_edit
    assert ('id="delete-flow"' in page) is can_delete


def test_a_flow_that_cannot_run_says_why_and_offers_no_run(as_editor, catalogue):
    draft = DecisionFlowFactory.create(tenant=catalogue.tenant, key="draft")
    page = as_editor.get(f"/catalogue/flows/{draft.pk}/").content.decode()
    assert "This flow has never been published: runs cannot use it yet." in text_of(page)
    assert 'id="start-run"' not in page
    DecisionFlow.objects.filter(pk=catalogue.flow.pk).update(status="paused")
    page = as_editor.get(f"/catalogue/flows/{catalogue.flow.pk}/").content.decode()
    assert "Version 1 is published, but the flow is paused" in text_of(page)
    assert 'id="start-run"' not in page
    sketch = DecisionFlowFactory.create(tenant=catalogue.tenant, key="sketch", pipeline=[])
    page = as_editor.get(f"/catalogue/flows/{sketch.pk}/").content.decode()
    assert "The pipeline is empty" in page
    assert 'id="publish-flow"' not in page
    assert "Not published yet · 0 nodes" in text_of(page)
    assert "None" not in text_of(page)


def test_version_page_shows_the_frozen_pipeline(as_viewer, as_editor, catalogue):
    flow = catalogue.flow
    as_editor.post(
        f"/catalogue/flows/{flow.pk}/edit/",
        {
            "name": flow.name,
            "key": flow.key,
            "status": "active",
            "pipeline": json.dumps([{"type": "inventory"}, {"type": "score"}, {"type": "rank"}, {"type": "output"}]),
        },
    )
    page = as_viewer.get(f"/catalogue/flows/{flow.pk}/versions/1/").content.decode()
    assert node_types(page) == ["inventory", "contact_policy", "score", "rank", "output"]
    assert "Next Best Action · version 1" in page
    assert as_viewer.get(f"/catalogue/flows/{flow.pk}/versions/9/").status_code == 404


# --- publish -------------------------------------------------------------------------------


def test_editor_publishes_the_next_version(as_editor, catalogue):
    flow = catalogue.flow
    pipeline = [
        {"type": "inventory"},
        {"type": "score"},
        {"type": "rank", "maxOffersPerCustomer": 4},
        {"type": "output"},
    ]
    as_editor.post(
        f"/catalogue/flows/{flow.pk}/edit/",
        {"name": flow.name, "key": flow.key, "status": "active", "pipeline": json.dumps(pipeline)},
    )
    page = as_editor.get(f"/catalogue/flows/{flow.pk}/").content.decode()
    assert "The pipeline below has changes that are not published: runs still use version 1." in text_of(page)
    assert "Publish version 2" in page
    response = as_editor.post(f"/catalogue/flows/{flow.pk}/publish/", follow=True)
    assert response.redirect_chain == [(f"/catalogue/flows/{flow.pk}/", 302)]
    page = response.content.decode()
    assert "Version 2 of “Next Best Action” published." in page
    assert re.findall(r'data-version="(\d+)"', page) == ["2", "1"]
    latest = DecisionFlowVersion.objects.get(flow=flow, version=2)
    assert latest.pipeline[2]["max_offers_per_customer"] == 4
    assert latest.published_by == "editor-acme"
    assert AuditLog.objects.filter(tenant=catalogue.tenant, action="publish", object_id=flow.pk).exists()


def test_publish_shows_the_validation_error(as_editor, catalogue):
    flow = catalogue.flow
    broken = [dict(node) for node in flow.pipeline]
    broken[2] = {**broken[2], "weights": {"propensity": 0.5, "relevance": 0.2, "impact": 0.1, "emphasis": 0.1}}
    DecisionFlow.objects.filter(pk=flow.pk).update(pipeline=broken)  # as if the rules had changed since
    response = as_editor.post(f"/catalogue/flows/{flow.pk}/publish/", follow=True)
    page = response.content.decode()
    assert "Version not published: Node 3 (score), weights: weights must sum to 1 (got 0.9)" in page
    assert DecisionFlowVersion.objects.filter(flow=flow).count() == 1


def test_publish_refuses_archived_and_empty_flows(as_editor, catalogue):
    DecisionFlow.objects.filter(pk=catalogue.flow.pk).update(status="archived")
    page = as_editor.post(f"/catalogue/flows/{catalogue.flow.pk}/publish/", follow=True).content.decode()
    assert "Version not published: An archived decision flow cannot be published." in page
    sketch = DecisionFlowFactory.create(tenant=catalogue.tenant, key="sketch", pipeline=[])
    page = as_editor.post(f"/catalogue/flows/{sketch.pk}/publish/", follow=True).content.decode()
    assert "Version not published: nothing to publish" in page
    assert not DecisionFlowVersion.objects.filter(flow=sketch).exists()


def test_viewers_may_not_publish_and_outsiders_get_404(as_viewer, as_outsider, catalogue):
    assert as_viewer.post(f"/catalogue/flows/{catalogue.flow.pk}/publish/").status_code == 403
    assert as_outsider.post(f"/catalogue/flows/{catalogue.flow.pk}/publish/").status_code == 404
    assert DecisionFlowVersion.objects.filter(flow=catalogue.flow).count() == 1


# --- create and edit -----------------------------------------------------------------------


def test_new_flow_form_starts_from_a_sensible_pipeline(as_editor, catalogue):
    page = as_editor.get("/catalogue/flows/new/").content.decode()
    pipeline = json.loads(textarea(page, "pipeline"))
    assert [node["type"] for node in pipeline] == ["inventory", "contact_policy", "score", "rank", "output"]
    assert pipeline[0] == {"type": "inventory", "includeAll": True}  # camelCase, as in the API
    assert pipeline[3]["maxOffersPerCustomer"] == 3
    # and it is valid as it stands
    response = as_editor.post(
        "/catalogue/flows/new/",
        {"name": "Spring", "key": "spring", "status": "draft", "pipeline": json.dumps(pipeline)},
    )
    assert response.status_code == 302
    flow = DecisionFlow.objects.get(tenant=catalogue.tenant, key="spring")
    assert response["Location"] == f"/catalogue/flows/{flow.pk}/"
    assert flow.pipeline[0] == {"type": "inventory", "categories": [], "offer_ids": [], "include_all": True}
    assert flow.pipeline[-1]["fields"][0] == "customer_id"  # defaults filled by the service
    assert AuditLog.objects.filter(tenant=catalogue.tenant, action="create", object_id=flow.pk).exists()


def test_pipeline_errors_are_shown_beside_the_pipeline(as_editor, catalogue):
    def post(pipeline: str, **extra: str) -> str:
        data = {"name": "Spring", "key": "spring", "status": "draft", "pipeline": pipeline, **extra}
        return as_editor.post("/catalogue/flows/new/", data).content.decode()

    assert field_errors(post("[{"), "pipeline")[0].startswith("Not valid JSON")
    assert field_errors(post('{"type": "inventory"}'), "pipeline")[0].startswith("The pipeline must be a JSON list")
    weights = {"propensity": 0.5, "relevance": 0.2, "impact": 0.1, "emphasis": 0.1}
    page = post(
        json.dumps([{"type": "inventory"}, {"type": "score", "weights": weights}, {"type": "rank"}, {"type": "output"}])
    )
    assert field_errors(page, "pipeline") == ["Node 2 (score), weights: weights must sum to 1 (got 0.9)"]
    assert 'aria-describedby="pipeline-error pipeline-help"' in page
    # what was typed stays in the box
    assert "&quot;relevance&quot;: 0.2" in page
    page = post(
        json.dumps(
            [{"type": "inventory", "offerIds": ["off_gone"]}, {"type": "score"}, {"type": "rank"}, {"type": "output"}]
        )
    )
    assert field_errors(page, "pipeline") == [
        "Node 1 (inventory), offerIds[0]: no offer with id 'off_gone' in this tenant"
    ]
    page = post(json.dumps([{"type": "score"}]))
    assert field_errors(page, "pipeline") == [
        "Node 1 (score): the first node must be an inventory node",
        "an inventory node is required",
        "a rank node is required",
        "an output node is required",
    ]
    page = post(json.dumps([{"type": "inventory"}]))
    assert field_errors(page, "pipeline") == [
        "a score node is required",
        "a rank node is required",
        "an output node is required",
    ]
    # every node's problem at once, not one per save
    page = post(
        json.dumps(
            [
                {"type": "inventory", "offerIds": ["off_gone"]},
                {"type": "score", "weights": weights},
                {"type": "rank", "maxOffersPerCustomer": 0},
                {"type": "output"},
            ]
        )
    )
    assert field_errors(page, "pipeline") == [
        "Node 1 (inventory), offerIds[0]: no offer with id 'off_gone' in this tenant",
        "Node 2 (score), weights: weights must sum to 1 (got 0.9)",
        "Node 3 (rank), maxOffersPerCustomer: must be between 1 and 50 (got 0)",
    ]
    page = post("", key="nba")
    assert field_errors(page, "key") == ["A decision flow with key 'nba' already exists."]
    assert not DecisionFlow.objects.filter(key="spring").exists()


def test_an_empty_pipeline_saves_a_sketch(as_editor, catalogue):
    response = as_editor.post(
        "/catalogue/flows/new/", {"name": "Idea", "key": "idea", "status": "draft", "pipeline": ""}
    )
    assert response.status_code == 302
    assert DecisionFlow.objects.get(key="idea").pipeline == []


def test_edit_prefills_camel_case_json_and_keeps_versions(as_editor, catalogue):
    flow = rich_flow(catalogue)
    page = as_editor.get(f"/catalogue/flows/{flow.pk}/edit/").content.decode()
    shown = json.loads(textarea(page, "pipeline"))
    assert shown[1]["rules"][1]["fitMultiplier"] == 0.5
    assert shown[3]["propensityModel"]["baseScore"] == 0.4
    shown[4]["maxOffersPerCustomer"] = 5
    response = as_editor.post(
        f"/catalogue/flows/{flow.pk}/edit/",
        {
            "name": "Rich flow",
            "key": "rich",
            "status": "active",
            "description": "Now five.",
            "pipeline": json.dumps(shown),
        },
    )
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.pipeline[4]["max_offers_per_customer"] == 5
    assert flow.description == "Now five."
    assert DecisionFlowVersion.objects.get(flow=flow).pipeline[4]["max_offers_per_customer"] == 2


def test_viewers_may_not_create_or_edit(as_viewer, catalogue):
    data = {"name": "Spring", "key": "spring", "status": "draft", "pipeline": ""}
    assert as_viewer.get("/catalogue/flows/new/").status_code == 403
    assert as_viewer.post("/catalogue/flows/new/", data).status_code == 403
    assert as_viewer.post(f"/catalogue/flows/{catalogue.flow.pk}/edit/", data).status_code == 403
    assert not DecisionFlow.objects.filter(key="spring").exists()


# --- delete --------------------------------------------------------------------------------


def test_only_admins_delete_and_a_flow_with_runs_stays(as_editor, as_admin, catalogue):
    spare = DecisionFlowFactory.create(tenant=catalogue.tenant, key="spare")
    assert as_editor.post(f"/catalogue/flows/{spare.pk}/delete/").status_code == 403
    response = as_admin.post(f"/catalogue/flows/{spare.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == "/catalogue/flows/"
    assert not DecisionFlow.objects.filter(pk=spare.pk).exists()
    new_run(catalogue)
    response = as_admin.post(f"/catalogue/flows/{catalogue.flow.pk}/delete/", follow=True)
    assert DecisionFlow.objects.filter(pk=catalogue.flow.pk).exists()
    assert response.redirect_chain[-1][0] == f"/catalogue/flows/{catalogue.flow.pk}/"
    assert "This decision flow is still in use (runs refer to it) and cannot be deleted." in response.content.decode()


def test_another_tenants_flow_is_404(as_outsider, catalogue):
    flow = catalogue.flow
    for path in ("", "edit/", "versions/1/"):
        assert as_outsider.get(f"/catalogue/flows/{flow.pk}/{path}").status_code == 404
    assert as_outsider.post(f"/catalogue/flows/{flow.pk}/delete/").status_code == 404
    assert DecisionFlow.objects.filter(pk=flow.pk).exists()
