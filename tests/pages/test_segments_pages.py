"""The segments pages: the list (filters in words, cached counts, no N+1), the detail (filters,
count, refresh, a customers sample, start a run, delete), and create/edit with the services'
errors beside their field. Roles: viewers read, editors write, admins delete; another tenant's
segment is a 404."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from django.utils.html import strip_tags

from campaigns import services as campaign_services
from kaireon.models import AuditLog, Role
from kaireon.principal import Principal
from segments import services
from segments.models import Customer, Segment
from tests.pages.conftest import field_errors

pytestmark = pytest.mark.django_db


def text_of(fragment: str) -> str:
    return " ".join(html_lib.unescape(strip_tags(fragment)).split())


def row_names(html: str) -> list[str]:
    return [text_of(m) for m in re.findall(r'<td class="primary-cell">\s*<a href="/segments/[^"]+/">(.*?)</a>', html)]


def new_segment(catalogue, name: str, filters: dict | None = None) -> Segment:
    actor = Principal(tenant=catalogue.tenant, role=Role.ADMIN)
    return services.segment_create(tenant=catalogue.tenant, actor=actor, data={"name": name, "filters": filters or {}})


# --- list ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.ADMIN])
def test_list_renders_for_every_role(client_as, tenant, catalogue, role):
    response = client_as(tenant, role).get("/segments/")
    assert response.status_code == 200
    html = response.content.decode()
    assert row_names(html) == ["All customers", "Gold tier"]
    gold = Segment.objects.get(pk=catalogue.gold.pk)
    row = re.search(rf'data-segment-id="{gold.pk}">(.*?)</tr>', html, flags=re.S)
    assert row
    assert "tier is gold" in text_of(row.group(1))
    assert f'data-count="{gold.customer_count}"' in row.group(1)
    assert "just now" in text_of(row.group(1))  # last refreshed
    everyone = re.search(rf'data-segment-id="{catalogue.everyone.pk}">(.*?)</tr>', html, flags=re.S)
    assert everyone
    assert "every customer" in text_of(everyone.group(1))
    assert ">60</td>" in everyone.group(1)
    assert ('id="new-segment"' in html) is (role != Role.VIEWER)


def test_list_search_and_pagination(as_viewer, catalogue):
    for index in range(30):
        new_segment(catalogue, f"Cohort {index:02d}", {"field": "age", "operator": "gte", "value": index + 18})
    html = as_viewer.get("/segments/").content.decode()
    assert len(row_names(html)) == 25
    assert "Showing <strong>1\u201325</strong> of <strong>32</strong>" in html
    page2 = as_viewer.get("/segments/?page=2").content.decode()
    assert len(row_names(page2)) == 7
    found = as_viewer.get("/segments/?q=cohort 0").content.decode()
    assert row_names(found) == [f"Cohort 0{i}" for i in range(10)]
    assert "age ≥ 18" in text_of(found)
    none = as_viewer.get("/segments/?q=nothing-like-this").content.decode()
    assert "No segment named like “nothing-like-this”" in html_lib.unescape(none)


def test_list_query_count_does_not_grow_with_segments(as_viewer, catalogue, django_assert_num_queries):
    as_viewer.get("/segments/")
    # session, user, membership (principal), count, page, field specs (schema), memberships (switcher)
    with django_assert_num_queries(7):
        as_viewer.get("/segments/")
    for index in range(20):
        new_segment(catalogue, f"Many {index}", {"any": [{"field": "tier", "operator": "eq", "value": "gold"}]})
    with django_assert_num_queries(7):
        response = as_viewer.get("/segments/")
    assert len(row_names(response.content.decode())) == 22


def test_other_tenants_segments_are_not_listed(as_outsider, catalogue):
    assert row_names(as_outsider.get("/segments/").content.decode()) == []


def test_anonymous_is_sent_to_sign_in(client, catalogue):
    response = client.get("/segments/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- detail --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.ADMIN])
def test_detail_renders_for_every_role(client_as, tenant, catalogue, role):
    segment = new_segment(
        catalogue,
        "Adults in gold",
        {
            "all": [
                {"field": "age", "operator": "gte", "value": 30},
                {"field": "tier", "operator": "eq", "value": "gold"},
            ]
        },
    )
    response = client_as(tenant, role).get(f"/segments/{segment.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    words = re.search(r'id="segment-filter-words">(.*?)</p>', html, flags=re.S)
    assert words
    assert text_of(words.group(1)) == "age ≥ 30 and tier is gold"
    shown = re.search(r'id="segment-filter-json">(.*?)</pre>', html, flags=re.S)
    assert shown
    assert json.loads(html_lib.unescape(shown.group(1))) == segment.filters
    expected = Customer.objects.filter(tenant=tenant, attributes__age__gte=30, attributes__tier="gold").order_by("id")
    assert segment.customer_count == expected.count() > 0
    assert f'data-count="{segment.customer_count}"' in html
    sample = re.findall(r'<a class="mono" href="/customers/(\d+)/">', html)
    assert [int(pk) for pk in sample] == list(expected.values_list("pk", flat=True)[:20])
    # the columns beside the sample: the attributes the filters name first
    assert re.search(r"<th scope=\"col\">age</th>\s*<th scope=\"col\">tier</th>", html)
    editor = role != Role.VIEWER
    assert ('id="refresh-segment"' in html) is editor
    assert ('id="edit-segment"' in html) is editor
    assert (f'href="/runs/new/?segment={segment.pk}"' in html) is editor
    assert ('id="delete-segment"' in html) is (role == Role.ADMIN)


def test_detail_sample_of_a_large_segment_is_twenty(as_viewer, catalogue):
    html = as_viewer.get(f"/segments/{catalogue.everyone.pk}/").content.decode()
    assert len(re.findall(r'<a class="mono" href="/customers/\d+/">', html)) == 20
    assert "the first 20 by id" in html


def test_detail_of_a_segment_without_view_samples_its_filters(as_viewer, catalogue):
    sketch = Segment.objects.create(
        tenant=catalogue.tenant, name="Sketch", filters={"field": "tier", "operator": "eq", "value": "gold"}
    )
    html = as_viewer.get(f"/segments/{sketch.pk}/").content.decode()
    assert "from the filters (the segment has no view yet)" in html
    golds = Customer.objects.filter(tenant=catalogue.tenant, attributes__tier="gold").count()
    assert len(re.findall(r'<a class="mono" href="/customers/\d+/">', html)) == min(golds, 20)
    assert "Not counted yet" in html


def test_detail_shows_recent_runs(as_viewer, catalogue):
    from tests.pages.conftest import new_run

    run = new_run(catalogue, name="Spring push")
    html = as_viewer.get(f"/segments/{catalogue.everyone.pk}/").content.decode()
    assert f'<a href="/runs/{run.pk}/">Spring push</a>' in html


@pytest.mark.parametrize("suffix", ["", "edit/"])
def test_another_tenants_segment_is_a_404(as_outsider, catalogue, suffix):
    assert as_outsider.get(f"/segments/{catalogue.gold.pk}/{suffix}").status_code == 404


@pytest.mark.parametrize("suffix", ["refresh/", "delete/"])
def test_another_tenants_segment_cannot_be_changed(as_outsider, catalogue, suffix):
    assert as_outsider.post(f"/segments/{catalogue.gold.pk}/{suffix}").status_code == 404
    assert Segment.objects.filter(pk=catalogue.gold.pk).exists()


def test_unknown_segment_is_a_404(as_viewer, catalogue):
    assert as_viewer.get("/segments/seg_nothing/").status_code == 404


# --- refresh -------------------------------------------------------------------------------


def test_viewer_cannot_refresh(as_viewer, catalogue):
    response = as_viewer.post(f"/segments/{catalogue.everyone.pk}/refresh/")
    assert response.status_code == 403
    assert "needs the editor role" in response.content.decode()


def test_refresh_recounts_through_the_service(as_editor, catalogue):
    Customer.objects.bulk_create(
        [
            Customer(tenant=catalogue.tenant, external_id=f"new{i}", attributes={"age": 40, "tier": "gold"})
            for i in range(5)
        ]
    )
    assert Segment.objects.get(pk=catalogue.everyone.pk).customer_count == 60
    response = as_editor.post(f"/segments/{catalogue.everyone.pk}/refresh/", follow=True)
    assert response.redirect_chain == [(f"/segments/{catalogue.everyone.pk}/", 302)]
    assert Segment.objects.get(pk=catalogue.everyone.pk).customer_count == 65
    html = response.content.decode()
    assert "Segment refreshed: 65 customers match now." in html
    assert 'data-count="65"' in html
    assert AuditLog.objects.filter(action="refresh", object_id=catalogue.everyone.pk).count() == 1


def test_refresh_is_a_post(as_editor, catalogue):
    assert as_editor.get(f"/segments/{catalogue.everyone.pk}/refresh/").status_code == 405


# --- delete --------------------------------------------------------------------------------


def test_editor_cannot_delete(as_editor, catalogue):
    assert as_editor.post(f"/segments/{catalogue.gold.pk}/delete/").status_code == 403
    assert Segment.objects.filter(pk=catalogue.gold.pk).exists()


def test_admin_deletes_a_segment(as_admin, catalogue):
    response = as_admin.post(f"/segments/{catalogue.gold.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/segments/", 302)]
    assert not Segment.objects.filter(pk=catalogue.gold.pk).exists()
    html = response.content.decode()
    assert "Segment “Gold tier” deleted." in html_lib.unescape(html)
    assert row_names(html) == ["All customers"]


def test_a_segment_in_use_is_not_deleted_and_says_why(as_admin, catalogue):
    actor = Principal(tenant=catalogue.tenant, role=Role.ADMIN)
    campaign_services.campaign_create(
        tenant=catalogue.tenant,
        actor=actor,
        data={"name": "Weekly gold", "decision_flow_id": catalogue.flow.pk, "segment_id": catalogue.gold.pk},
    )
    response = as_admin.post(f"/segments/{catalogue.gold.pk}/delete/", follow=True)
    assert response.redirect_chain == [(f"/segments/{catalogue.gold.pk}/", 302)]
    assert Segment.objects.filter(pk=catalogue.gold.pk).exists()
    text = html_lib.unescape(response.content.decode())
    assert "This object is still in use and cannot be deleted: “Gold tier” is used by campaign “Weekly gold”." in text
    assert not AuditLog.objects.filter(action="delete", object_id=catalogue.gold.pk).exists()


# --- create --------------------------------------------------------------------------------


def test_viewer_cannot_open_or_post_the_form(as_viewer, catalogue):
    assert as_viewer.get("/segments/new/").status_code == 403
    response = as_viewer.post("/segments/new/", {"name": "Nope", "filters": "{}"})
    assert response.status_code == 403
    assert not Segment.objects.filter(name="Nope").exists()
    assert as_viewer.get(f"/segments/{catalogue.gold.pk}/edit/").status_code == 403


@pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN])
def test_form_lists_the_fields_and_counts_live(client_as, tenant, catalogue, role):
    html = client_as(tenant, role).get("/segments/new/").content.decode()
    fields = re.search(r'id="filter-fields">(.*?)</table>', html, flags=re.S)
    assert fields
    names = re.findall(r"<code>([a-z_]+)</code>", fields.group(1))
    assert names[:3] == ["external_id", "email", "first_name"]
    assert {"age", "tier", "created_at", "suppressed"} <= set(names)
    assert "gte" in text_of(fields.group(1))
    # the live count is the new-run page's own endpoint
    assert 'hx-post="/runs/new/audience-count/"' in html
    assert ">{}</textarea>" in html


def test_live_count_answers_for_the_typed_filter(as_editor, catalogue):
    response = as_editor.post(
        "/runs/new/audience-count/", {"filters": '{"field": "tier", "operator": "eq", "value": "gold"}'}
    )
    golds = Customer.objects.filter(tenant=catalogue.tenant, attributes__tier="gold").count()
    assert f'data-count="{golds}"' in response.content.decode()


def test_creating_a_segment(as_editor, catalogue):
    filters = {"all": [{"field": "customer.age", "operator": "gte", "value": 30}]}
    response = as_editor.post(
        "/segments/new/", {"name": "  Thirty plus ", "description": "Grown-ups", "filters": json.dumps(filters)}
    )
    assert response.status_code == 302
    segment = Segment.objects.get(name="Thirty plus")
    assert response["Location"] == f"/segments/{segment.pk}/"
    assert segment.description == "Grown-ups"
    assert segment.filters == {"all": [{"field": "age", "operator": "gte", "value": 30}]}
    assert segment.has_view
    expected = Customer.objects.filter(tenant=catalogue.tenant, attributes__age__gte=30).count()
    assert segment.customer_count == expected
    assert AuditLog.objects.filter(action="create", object_id=segment.pk).count() == 1
    detail = html_lib.unescape(as_editor.get(response["Location"]).content.decode())
    assert f"Segment “Thirty plus” created: {expected:,} customers match." in detail


def test_blank_filter_selects_everyone(as_editor, catalogue):
    response = as_editor.post("/segments/new/", {"name": "Everybody", "filters": ""})
    assert response.status_code == 302
    segment = Segment.objects.get(name="Everybody")
    assert segment.filters == {}
    assert segment.customer_count == 60


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "filters": "{}"}, "name", "This field is required."),
        ({"name": "   ", "filters": "{}"}, "name", "This field is required."),
        (
            {"name": "Gold tier", "filters": "{}"},
            "name",
            "the tenant already has a segment named &#x27;Gold tier&#x27;",
        ),
        (
            {"name": "X", "filters": "{not json"},
            "filters",
            "Not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2).",
        ),
        ({"name": "X", "filters": "[1]"}, "filters", "The filter must be a JSON object"),
        (
            {"name": "X", "filters": '{"field": "shoe_size", "operator": "eq", "value": 1}'},
            "filters",
            "field: unknown field &#x27;shoe_size&#x27;",
        ),
        (
            {"name": "X", "filters": '{"all": [{"field": "age", "operator": "starts_with", "value": "3"}]}'},
            "filters",
            "all[0].operator: starts_with does not apply to integer field &#x27;age&#x27;",
        ),
    ],
)
def test_errors_are_shown_beside_their_field(as_editor, catalogue, data, field, message):
    before = Segment.objects.count()
    response = as_editor.post("/segments/new/", data)
    assert response.status_code == 200
    html = response.content.decode()
    errors = field_errors(html, field)
    assert errors, html
    assert errors[0].startswith(message), errors
    assert re.search(rf'aria-describedby="[^"]*\b{field}-error"', html)
    assert 'aria-invalid="true"' in html
    assert "The segment was not saved." in html
    assert Segment.objects.count() == before  # nothing half written
    # what was typed is kept
    typed = re.search(r'<textarea id="id_filters"[^>]*>(.*?)</textarea>', html, flags=re.S)
    assert typed
    assert html_lib.unescape(typed.group(1)) == data["filters"]
    assert re.search(r'<input type="text" id="id_name" name="name"[^>]*value="([^"]*)"', html)


# --- edit ----------------------------------------------------------------------------------


def test_edit_form_is_prefilled(as_editor, catalogue):
    html = as_editor.get(f"/segments/{catalogue.gold.pk}/edit/").content.decode()
    assert 'value="Gold tier"' in html
    shown = re.search(r'<textarea id="id_filters"[^>]*>(.*?)</textarea>', html, flags=re.S)
    assert shown
    assert json.loads(html_lib.unescape(shown.group(1))) == catalogue.gold.filters
    assert "Save changes" in html


def test_editing_changes_filters_and_recounts(as_editor, catalogue):
    filters = {"field": "tier", "operator": "in", "value": ["gold", "silver"]}
    response = as_editor.post(
        f"/segments/{catalogue.gold.pk}/edit/",
        {"name": "Gold or silver", "description": "", "filters": json.dumps(filters)},
    )
    assert response.status_code == 302
    segment = Segment.objects.get(pk=catalogue.gold.pk)
    assert segment.name == "Gold or silver"
    assert segment.filters == filters
    expected = Customer.objects.filter(tenant=catalogue.tenant, attributes__tier__in=["gold", "silver"]).count()
    assert segment.customer_count == expected
    html = as_editor.get(f"/segments/{segment.pk}/").content.decode()
    assert "tier is one of gold, silver" in text_of(html)


def test_edit_errors_leave_the_segment_as_it_was(as_editor, catalogue):
    response = as_editor.post(
        f"/segments/{catalogue.gold.pk}/edit/",
        {"name": "All customers", "filters": '{"field": "tier", "operator": "eq", "value": "silver"}'},
    )
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "name") == [
        "the tenant already has a segment named &#x27;All customers&#x27;"
    ]
    segment = Segment.objects.get(pk=catalogue.gold.pk)
    assert (segment.name, segment.filters) == ("Gold tier", {"field": "tier", "operator": "eq", "value": "gold"})
