"""The customers pages: the search (externalId / email prefixes, name words, keyset pages, a
capped count, no N+1), one customer (attributes in schema order, contact history newest first,
recent runs' recommendations) and the "recommend now" box (the live decision with its funnel;
read-only, so viewers may use it). Another tenant's customer is a 404."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import strip_tags

from decisionflows.models import ContactHistory, DecisionFlow
from kaireon.models import AuditLog, Role
from segments import pages, selectors
from segments.models import Customer, CustomerAttribute
from tests.pages.conftest import field_errors

pytestmark = pytest.mark.django_db


def text_of(fragment: str) -> str:
    return " ".join(html_lib.unescape(strip_tags(fragment)).split())


def listed(html: str) -> list[str]:
    return re.findall(r'<tr class="customer-row" data-external-id="([^"]*)">', html)


def customer(catalogue, external_id: str) -> Customer:
    return Customer.objects.get(tenant=catalogue.tenant, external_id=external_id)


# --- search --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.ADMIN])
def test_list_renders_for_every_role_newest_first(client_as, tenant, catalogue, role):
    response = client_as(tenant, role).get("/customers/")
    assert response.status_code == 200
    html = response.content.decode()
    assert listed(html) == [f"c{i:05d}" for i in range(59, 34, -1)]  # 25 per page, newest first
    assert "<strong>60</strong> customers, newest first" in html
    assert re.search(r'<th scope="col">age</th>\s*<th scope="col">tier</th>', html)  # a few attributes
    first = customer(catalogue, "c00059")
    assert f'href="/customers/{first.pk}/"' in html
    assert 'id="next-customers"' in html


def test_keyset_pages_walk_every_customer_once(as_viewer, catalogue):
    seen: list[str] = []
    url = "/customers/"
    for _ in range(5):
        html = as_viewer.get(url).content.decode()
        seen += listed(html)
        following = re.search(r'<a href="([^"]+)" rel="next" id="next-customers">', html)
        if not following:
            break
        url = "/customers/" + html_lib.unescape(following.group(1))
    assert seen == [f"c{i:05d}" for i in range(59, -1, -1)]
    assert "« First page</a>" in html


def test_search_by_external_id_prefix(as_viewer, catalogue):
    html = as_viewer.get("/customers/?q=c0001").content.decode()
    assert listed(html) == [f"c{i:05d}" for i in range(10, 20)]
    assert "<strong>10</strong> customers match" in html
    exact = as_viewer.get("/customers/?q=c00042&by=external_id").content.decode()
    assert listed(exact) == ["c00042"]
    assert listed(as_viewer.get("/customers/?q=C0001").content.decode()) == []  # case-sensitive, like the index


def test_external_id_pages_follow_their_order(as_viewer, catalogue, monkeypatch):
    monkeypatch.setattr(pages, "CUSTOMERS_PER_PAGE", 4)
    html = as_viewer.get("/customers/?q=c000&by=external_id").content.decode()
    assert listed(html) == ["c00000", "c00001", "c00002", "c00003"]
    following = re.search(r'<a href="\?([^"]+)" rel="next"', html)
    assert following
    page2 = as_viewer.get("/customers/?" + html_lib.unescape(following.group(1))).content.decode()
    assert listed(page2) == ["c00004", "c00005", "c00006", "c00007"]


def test_search_by_email_prefix_pages_through_equal_emails(as_viewer, tenant, catalogue, monkeypatch):
    Customer.objects.bulk_create(
        [Customer(tenant=tenant, external_id=f"dup{i}", email="shared@bank.example") for i in range(5)]
    )
    monkeypatch.setattr(pages, "CUSTOMERS_PER_PAGE", 3)
    html = as_viewer.get("/customers/?q=shared@").content.decode()  # "@" picks the email match
    assert 'value="email" selected' in html
    assert listed(html) == ["dup0", "dup1", "dup2"]
    following = re.search(r'<a href="\?([^"]+)" rel="next"', html)
    assert following
    page2 = as_viewer.get("/customers/?" + html_lib.unescape(following.group(1))).content.decode()
    assert listed(page2) == ["dup3", "dup4"]
    assert 'id="next-customers"' not in page2
    # in email order: "c40@…" sorts before "c4@…"
    assert listed(as_viewer.get("/customers/?q=c4&by=email").content.decode()) == ["c00040", "c00041", "c00042"]
    assert listed(as_viewer.get("/customers/?q=c4@&by=email").content.decode()) == ["c00004"]


def test_search_by_name_words(as_viewer, tenant, catalogue):
    Customer.objects.create(tenant=tenant, external_id="zed", first_name="Zoë", last_name="Hartley-Smith")
    Customer.objects.create(tenant=tenant, external_id="zed2", first_name="Hart", last_name="Jones")
    html = as_viewer.get("/customers/?q=hart&by=name").content.decode()
    assert listed(html) == ["zed2", "zed"]
    assert listed(as_viewer.get("/customers/?q=zoë smith&by=name").content.decode()) == ["zed"]
    names = Customer.objects.filter(tenant=tenant, first_name="Ana").count()
    assert len(listed(as_viewer.get("/customers/?q=ana&by=name").content.decode())) == min(names, 25)


def test_a_guessed_external_id_search_that_finds_nobody_looks_in_names(as_viewer, tenant, catalogue):
    Customer.objects.create(tenant=tenant, external_id="zed", first_name="Zoë", last_name="Hartley-Smith")
    html = html_lib.unescape(as_viewer.get("/customers/?q=hartley").content.decode())
    assert listed(html) == ["zed"]
    assert "No externalId starts with “hartley”; names that contain it:" in html
    assert 'value="name" selected' in html
    # a match kind chosen on purpose is kept
    assert listed(as_viewer.get("/customers/?q=hartley&by=external_id").content.decode()) == []
    # and an externalId that does match stays an externalId search
    found = as_viewer.get("/customers/?q=zed").content.decode()
    assert listed(found) == ["zed"]
    assert "names that contain it" not in found


def test_count_is_capped(as_viewer, catalogue, monkeypatch):
    monkeypatch.setattr(pages, "COUNT_CAP", 10)
    html = as_viewer.get("/customers/").content.decode()
    assert "<strong>10+</strong> customers" in html


def test_no_match_and_empty_states(as_viewer, catalogue):
    html = html_lib.unescape(as_viewer.get("/customers/?q=nobody-here").content.decode())
    assert "No customer matches “nobody-here”" in html
    assert listed(html) == []


def test_empty_tenant(as_viewer):
    assert "No customers yet" in as_viewer.get("/customers/").content.decode()


def test_bad_cursor_and_by_are_ignored(as_viewer, catalogue):
    html = as_viewer.get("/customers/?after=abc&by=sql").content.decode()
    assert len(listed(html)) == 25


def test_list_query_count_does_not_grow_with_rows(as_viewer, tenant, catalogue, django_assert_num_queries):
    as_viewer.get("/customers/?q=c0")
    # session, user, membership, page rows, capped count, schema (columns), memberships (switcher)
    with django_assert_num_queries(7):
        html = as_viewer.get("/customers/?q=c0").content.decode()
    assert len(listed(html)) == 25
    with django_assert_num_queries(7):
        as_viewer.get("/customers/")
    # a page after the first reads its anchor row once more
    anchor = customer(catalogue, "c00010").pk
    with django_assert_num_queries(8):
        as_viewer.get(f"/customers/?q=c0&after={anchor}")


def test_other_tenants_customers_are_not_listed(as_outsider, catalogue):
    html = as_outsider.get("/customers/?q=c").content.decode()
    assert listed(html) == []


# --- one customer --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.ADMIN])
def test_detail_renders_for_every_role(client_as, tenant, catalogue, role):
    person = customer(catalogue, "c00007")
    response = client_as(tenant, role).get(f"/customers/{person.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<strong class="mono" id="customer-external-id">c00007</strong>' in html
    attributes = re.findall(r'<dd data-attribute="([a-z_]+)">(.*?)</dd>', html, flags=re.S)
    assert attributes == [("age", str(person.attributes["age"])), ("tier", person.attributes["tier"])]
    assert 'id="recommend-now"' in html  # read-only: every role may ask
    assert "No offer has been sent to this customer yet." in html


def test_attributes_follow_the_schema_and_keep_strays(as_viewer, tenant, catalogue):
    CustomerAttribute.objects.filter(tenant=tenant, name="age").update(label="Age in years")
    CustomerAttribute.objects.create(tenant=tenant, name="balance", type="number")
    person = Customer.objects.create(
        tenant=tenant, external_id="odd", attributes={"tier": "gold", "legacy_score": 7, "age": 41}
    )
    html = as_viewer.get(f"/customers/{person.pk}/").content.decode()
    rows = re.findall(r'<dd data-attribute="([a-z_]+)">(.*?)</dd>', html, flags=re.S)
    assert [name for name, _ in rows] == ["age", "balance", "tier", "legacy_score"]
    assert text_of(rows[1][1]) == "—"
    assert "Age in years" in html
    assert "not in schema" in html


def test_contact_history_newest_first_with_names(as_viewer, tenant, catalogue, django_assert_num_queries):
    person = customer(catalogue, "c00003")
    now = timezone.now()
    ContactHistory.objects.create(
        tenant=tenant,
        customer=person,
        offer=catalogue.offers["loan"],
        channel=catalogue.sms,
        source="manual",
        contacted_at=now - timedelta(days=2),
    )
    ContactHistory.objects.create(
        tenant=tenant,
        customer=person,
        offer=catalogue.offers["gold-card"],
        channel=catalogue.email,
        source="run",
        source_id="run_abc",
        contacted_at=now - timedelta(hours=1),
    )
    html = as_viewer.get(f"/customers/{person.pk}/").content.decode()
    table = re.search(r'id="contact-history">(.*?)</table>', html, flags=re.S)
    assert table
    rows = [text_of(r) for r in re.findall(r"<tr>(.*?)</tr>", table.group(1), flags=re.S)[1:]]
    assert rows[0].endswith("Gold Card Email Run")
    assert rows[1].endswith("Personal Loan SMS Manual")
    assert 'href="/runs/run_abc/"' in table.group(1)

    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            as_viewer.get(f"/customers/{person.pk}/")
        return len(ctx.captured_queries)

    before = count_queries()
    for days in range(3, 13):
        ContactHistory.objects.create(
            tenant=tenant,
            customer=person,
            offer=catalogue.offers["savings"],
            channel=catalogue.call_centre,
            source="journey",
            contacted_at=now - timedelta(days=days),
        )
    assert count_queries() == before  # offer and channel names come joined, not one query a row


def test_contact_history_pages_back_through_older_contacts(as_viewer, tenant, catalogue):
    person = customer(catalogue, "c00004")
    now = timezone.now()
    ContactHistory.objects.bulk_create(
        ContactHistory(
            tenant=tenant,
            customer=person,
            offer=catalogue.offers["loan"],
            channel=catalogue.sms,
            source="manual",
            source_id=f"note-{days}",
            contacted_at=now - timedelta(days=days),
        )
        for days in range(30)
    )

    def dates(html: str) -> list[str]:
        table = re.search(r'id="contact-history">(.*?)</table>', html, flags=re.S)
        assert table
        return re.findall(r'<time datetime="([^"]+)"', table.group(1))

    first = as_viewer.get(f"/customers/{person.pk}/").content.decode()
    assert len(dates(first)) == 25
    assert 'href="?history=2#history-title"' in first
    assert "Newer" not in first
    second = as_viewer.get(f"/customers/{person.pk}/?history=2").content.decode()
    assert len(dates(second)) == 5
    assert dates(second)[0] < dates(first)[-1]  # older than anything on page 1
    assert 'href="?history=1#history-title"' in second
    assert "history=3" not in second
    beyond = as_viewer.get(f"/customers/{person.pk}/?history=9").content.decode()
    assert "No older contacts." in beyond
    assert as_viewer.get(f"/customers/{person.pk}/?history=x").status_code == 200  # read as page 1


def test_recent_runs_recommendations(as_viewer, catalogue, finished_run):
    from runs.models import Recommendation

    rec = Recommendation.objects.filter(run=finished_run).select_related("customer", "offer").first()
    assert rec
    html = as_viewer.get(f"/customers/{rec.customer.pk}/").content.decode()
    section = re.search(r'aria-labelledby="runrecs-title">(.*?)</section>', html, flags=re.S)
    assert section
    assert f'href="/runs/{finished_run.pk}/"' in section.group(1)
    assert rec.offer.name in section.group(1)


def test_another_tenants_customer_is_a_404(as_outsider, catalogue):
    person = customer(catalogue, "c00001")
    assert as_outsider.get(f"/customers/{person.pk}/").status_code == 404
    assert (
        as_outsider.post(f"/customers/{person.pk}/recommend/", {"decision_flow": catalogue.flow.pk}).status_code == 404
    )


def test_unknown_and_huge_ids_are_404(as_viewer, catalogue):
    assert as_viewer.get("/customers/999999999/").status_code == 404
    assert as_viewer.get(f"/customers/{2**70}/").status_code == 404


# --- recommend now -------------------------------------------------------------------------


def recommend(client, person, **data):
    return client.post(f"/customers/{person.pk}/recommend/", data, HTTP_HX_REQUEST="true")


def test_viewer_gets_offers_and_funnel_and_nothing_is_written(as_viewer, tenant, catalogue):
    person = Customer.objects.filter(tenant=tenant, suppressed=False, attributes__age__lt=18).first()
    assert person is not None  # a minor: the gold card's eligibility drops it
    history, audit = ContactHistory.objects.count(), AuditLog.objects.count()
    response = recommend(as_viewer, person, decision_flow=catalogue.flow.pk)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<section")
    assert 'id="recommend-box"' in html
    offers = re.findall(r'<li class="reco" data-offer-key="([^"]+)">', html)
    assert offers == ["loan", "savings"]  # two offers, one per channel, by priority x value
    assert "Hi Ana" in html or "Hi Ben" in html or "Hi Chloé" in html or "Hi there" in html
    assert "Personal Loan for you" in html
    steps = re.findall(r'<span class="step-label">([^<]+)</span><strong class="step-value">([^<]+)</strong>', html)
    assert steps == [
        ("Candidates", "4"),
        ("After qualification", "3"),
        ("After contact policy", "3"),
        ("Scored", "2"),
        ("Returned", "2"),
    ]
    dropped = dict(
        re.findall(
            r'<tr data-offer-key="([^"]+)">\s*<th scope="row">[^<]+</th>\s*'
            r'<td class="nowrap"><span class="tag stage-([a-z_]+)">',
            html,
        )
    )
    assert dropped == {"gold-card": "qualification", "insurance": "zero_score"}
    assert "Gold Card" in text_of(html)
    assert "Not eligible" in html
    # read-only: no contact recorded, no audit entry
    assert (ContactHistory.objects.count(), AuditLog.objects.count()) == (history, audit)


def test_a_suppressed_customer_falls_out_at_the_contact_policy(as_viewer, tenant, catalogue):
    person = Customer.objects.filter(tenant=tenant, suppressed=True).first()
    assert person is not None
    html = recommend(as_viewer, person, decision_flow=catalogue.flow.pk).content.decode()
    assert 'id="recommended-offers-empty"' in html
    assert "stage-contact_policy" in html
    assert re.search(r'After contact policy</span><strong class="step-value">0<', html)


def test_channel_narrows_the_offers(as_viewer, tenant, catalogue):
    person = Customer.objects.filter(tenant=tenant, suppressed=False, attributes__age__gte=18).first()
    html = recommend(as_viewer, person, decision_flow=catalogue.flow.pk, channel=catalogue.web.pk).content.decode()
    assert re.findall(r'<li class="reco" data-offer-key="([^"]+)">', html) == ["gold-card"]
    assert f'<option value="{catalogue.web.pk}" selected>' in html


def test_flow_errors_beside_the_field(as_viewer, tenant, catalogue):
    person = customer(catalogue, "c00001")
    html = recommend(as_viewer, person, decision_flow="").content.decode()
    assert field_errors(html, "decision_flow") == ["This field is required."]
    DecisionFlow.objects.filter(pk=catalogue.flow.pk).update(status="paused")
    html = recommend(as_viewer, person, decision_flow=catalogue.flow.pk).content.decode()
    assert field_errors(html, "decision_flow") == [
        "Decision flow &#x27;nba&#x27; cannot recommend: its status is paused; it must be active and published."
    ]
    assert 'aria-invalid="true"' in html
    assert "Ranked offers" not in html
    html = recommend(as_viewer, person, decision_flow="df_elsewhere").content.decode()
    assert field_errors(html, "decision_flow") == [
        "Select a valid choice. df_elsewhere is not one of the available choices."
    ]


def test_without_script_the_page_comes_back_with_the_answer(as_viewer, catalogue):
    person = customer(catalogue, "c00005")
    response = as_viewer.post(f"/customers/{person.pk}/recommend/", {"decision_flow": catalogue.flow.pk})
    html = response.content.decode()
    assert "<html" in html
    assert 'id="recommend-funnel"' in html
    assert 'id="customer-attributes"' in html


def test_recommend_is_a_post(as_viewer, catalogue):
    person = customer(catalogue, "c00005")
    assert as_viewer.get(f"/customers/{person.pk}/recommend/").status_code == 405


def test_a_name_search_that_runs_out_of_time_says_so(as_viewer, catalogue, monkeypatch):
    monkeypatch.setattr(selectors, "with_search_timeout", lambda read: None)
    html = as_viewer.get("/customers/?q=ana&by=name").content.decode()
    assert "That search took too long" in html
    assert listed(html) == []
    # indexed searches are not limited that way
    assert len(listed(as_viewer.get("/customers/?q=c0").content.decode())) == 25


def test_guarded_reads_give_up_after_the_timeout(db, monkeypatch):
    from django.db import connection

    def slow() -> int:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_sleep(0.5)")
            cursor.execute("SELECT 1")
            return int(cursor.fetchone()[0])

    monkeypatch.setattr(selectors, "SEARCH_TIMEOUT_MS", 50)
    expected = None if connection.vendor == "postgresql" else 1  # SQLite has no statement timeout
    assert selectors.with_search_timeout(slow) == expected
    assert selectors.with_search_timeout(lambda: 7) == 7  # the connection is usable after
