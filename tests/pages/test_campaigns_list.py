"""The campaigns list: columns (status, flow and segment, schedule in words, next run, last run,
run count), the status filter, pagination, tenant scoping and a query count that does not grow."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from campaigns.models import Campaign
from kaireon.models import Role
from tests.pages.campaigns_fixtures import execute, make_campaign, trigger

pytestmark = pytest.mark.django_db


def row_names(html: str) -> list[str]:
    return re.findall(r'<td class="primary-cell"><a href="/campaigns/camp_[^/]+/">([^<]+)</a>', html)


def row_of(html: str, campaign: Campaign) -> str:
    match = re.search(rf'<tr class="campaign-row" data-campaign="{campaign.pk}">(.*?)</tr>', html, flags=re.S)
    assert match, f"no row for {campaign.pk}"
    return match.group(1)


@pytest.mark.parametrize(("role", "can_create"), [(Role.VIEWER, False), (Role.EDITOR, True), (Role.ADMIN, True)])
def test_list_renders_for_every_role(client_as, tenant, catalogue, role, can_create):
    make_campaign(catalogue, name="Weekly High-Value Campaign")
    response = client_as(tenant, role).get("/campaigns/")
    assert response.status_code == 200
    html = response.content.decode()
    assert row_names(html) == ["Weekly High-Value Campaign"]
    assert ('href="/campaigns/new/"' in html) is can_create
    assert 'href="/campaigns/work-queue/"' in html


def test_row_shows_status_targets_schedule_next_run_and_latest_run(as_viewer, catalogue, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    weekly = make_campaign(
        catalogue,
        name="Weekly",
        status="active",
        schedule_type="weekly",
        schedule_day_of_week=1,
        schedule_time="09:00",
        schedule_timezone="Europe/London",
    )
    monthly = make_campaign(
        catalogue,
        name="Month end",
        schedule_type="monthly",
        schedule_day_of_month="last_working_day",
        schedule_time="18:30",
    )
    cron = make_campaign(catalogue, name="Six-hourly", schedule_type="cron", schedule_cron="0 */6 * * *")
    manual = make_campaign(catalogue, name="Ad hoc")
    execute(manual)
    trigger(manual)
    # a fixed next slot, to read it back on London's wall clock (BST in July)
    Campaign.objects.filter(pk=weekly.pk).update(next_run_at=datetime(2030, 7, 1, 8, 0, tzinfo=UTC))

    html = as_viewer.get("/campaigns/").content.decode()
    row = row_of(html, weekly)
    assert 'class="badge badge-ok status-active"' in row
    assert "Every Monday at 09:00 Europe/London" in row
    assert "Mon 1 Jul 2030, 09:00 BST" in row
    assert "1 Jul, 08:00 UTC" in row
    assert "Next Best Action" in row
    assert "All customers" in row
    assert "Never run" in row
    assert "Last working day of the month at 18:30 UTC" in row_of(html, monthly)
    assert "Not scheduled" in row_of(html, monthly)  # a draft does not fire
    assert "Cron 0 */6 * * * (UTC)" in row_of(html, cron)
    row = row_of(html, manual)
    assert "Manual" in row
    assert "On demand" in row
    assert 'class="badge badge-neutral status-pending"' in row  # run #2, not yet picked up
    assert "#2 · just now" in row
    assert '<td class="num">2</td>' in row


def test_filters_by_status_and_name(as_viewer, catalogue):
    make_campaign(catalogue, name="Live one", status="active", schedule_type="daily")
    make_campaign(catalogue, name="Paused one", status="paused")
    make_campaign(catalogue, name="Draft one")
    assert row_names(as_viewer.get("/campaigns/?status=active").content.decode()) == ["Live one"]
    assert row_names(as_viewer.get("/campaigns/?status=paused").content.decode()) == ["Paused one"]
    assert row_names(as_viewer.get("/campaigns/?q=draft").content.decode()) == ["Draft one"]
    assert len(row_names(as_viewer.get("/campaigns/?status=bogus").content.decode())) == 3
    empty = as_viewer.get("/campaigns/?status=archived").content.decode()
    assert "No campaigns match these filters" in empty


def test_empty_list_invites_editors(as_editor, as_viewer, catalogue):
    html = as_editor.get("/campaigns/").content.decode()
    assert "No campaigns yet" in html
    assert 'class="btn btn-primary" href="/campaigns/new/"' in html
    assert 'href="/campaigns/new/"' not in as_viewer.get("/campaigns/").content.decode()


def test_paginates_by_twenty_five(as_viewer, catalogue):
    for index in range(27):
        make_campaign(catalogue, name=f"bulk {index:02d}")
    first = as_viewer.get("/campaigns/").content.decode()
    assert len(row_names(first)) == 25
    assert "Showing <strong>1\N{EN DASH}25</strong> of <strong>27</strong>" in first
    second = as_viewer.get("/campaigns/?page=2").content.decode()
    assert len(row_names(second)) == 2
    assert set(row_names(first)).isdisjoint(row_names(second))


def test_other_tenants_campaigns_are_not_listed(as_outsider, catalogue):
    make_campaign(catalogue, name="Ours")
    assert row_names(as_outsider.get("/campaigns/").content.decode()) == []


def test_list_query_count_does_not_grow_with_campaigns(as_viewer, catalogue, django_assert_num_queries):
    for index in range(2):
        trigger(make_campaign(catalogue, name=f"first {index}"))
    as_viewer.get("/campaigns/")
    # session, user, membership (principal), count, page (flow and segment joined, run figures
    # annotated), latest run of each (one prefetch), memberships (switcher)
    with django_assert_num_queries(7):
        as_viewer.get("/campaigns/")
    for index in range(20):
        campaign = make_campaign(catalogue, name=f"more {index}", segment_id=catalogue.gold.pk)
        trigger(campaign)
    with django_assert_num_queries(7):
        response = as_viewer.get("/campaigns/")
    assert len(row_names(response.content.decode())) == 22
