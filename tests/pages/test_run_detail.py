"""The run detail: live progress, summary, breakdowns, funnel, per-customer results, downloads,
cancel and delete by role, another tenant's run as 404."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from kaireon.models import Role
from runs.models import Recommendation, Run, RunStatus
from segments.models import Customer

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


# --- roles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "can_cancel"), [(Role.VIEWER, False), (Role.EDITOR, True), (Role.ADMIN, True)])
def test_running_run_renders_for_every_role_with_cancel_for_editors(client_as, tenant, running_run, role, can_cancel):
    response = client_as(tenant, role).get(f"/runs/{running_run.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Going run" in html
    assert ('id="cancel-run"' in html) is can_cancel
    assert 'id="delete-run"' not in html  # not finished
    assert 'id="download-csv"' not in html


@pytest.mark.parametrize(("role", "can_delete"), [(Role.VIEWER, False), (Role.EDITOR, False), (Role.ADMIN, True)])
def test_finished_run_renders_for_every_role_with_delete_for_admins(client_as, tenant, finished_run, role, can_delete):
    response = client_as(tenant, role).get(f"/runs/{finished_run.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert ('id="delete-run"' in html) is can_delete
    assert 'id="cancel-run"' not in html
    assert f'href="/runs/{finished_run.pk}/export.csv"' in html
    assert f'href="/runs/{finished_run.pk}/export.json"' in html


def test_another_tenants_run_is_404_everywhere(as_outsider, finished_run, running_run):
    for url in (
        f"/runs/{finished_run.pk}/",
        f"/runs/{finished_run.pk}/progress/",
        f"/runs/{finished_run.pk}/customers/",
        f"/runs/{finished_run.pk}/export.csv",
    ):
        assert as_outsider.get(url).status_code == 404, url
    assert as_outsider.post(f"/runs/{running_run.pk}/cancel/").status_code == 404
    assert as_outsider.post(f"/runs/{finished_run.pk}/delete/").status_code == 404
    assert Run.objects.get(pk=running_run.pk).status == RunStatus.RUNNING


def test_unknown_run_is_404(as_viewer, catalogue):
    assert as_viewer.get("/runs/run_nope/").status_code == 404


# --- live progress -------------------------------------------------------------------------


def test_running_run_polls_its_progress_fragment(as_viewer, running_run):
    html = as_viewer.get(f"/runs/{running_run.pk}/").content.decode()
    assert f'hx-get="/runs/{running_run.pk}/progress/"' in html
    assert 'hx-trigger="every 1s"' in html
    assert 'aria-live="polite"' in html
    assert "Results are on their way" in html


def test_progress_fragment_of_a_running_run_has_percent_counts_rate_and_eta(as_viewer, running_run):
    response = as_viewer.get(f"/runs/{running_run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-percent="33.3">33.3%<' in html
    assert "<strong>20</strong> of <strong>60</strong> customers processed" in html
    assert '<dd id="run-rate">2.0/s</dd>' in html
    assert '<dd id="run-eta">20 s</dd>' in html
    assert 'aria-valuenow="33.3"' in html
    # the badge and the actions are refreshed out of band; no results yet
    assert '<span id="run-status" hx-swap-oob="true">' in html
    assert "Running" in html
    assert 'id="run-results"' not in html
    assert "30% complete." in html


def test_progress_poll_is_cheap(as_viewer, running_run, django_assert_num_queries):
    as_viewer.get(f"/runs/{running_run.pk}/progress/", HTTP_HX_REQUEST="true")
    with django_assert_num_queries(4):  # session, user, membership, the run (flow, segment, version joined)
        as_viewer.get(f"/runs/{running_run.pk}/progress/", HTTP_HX_REQUEST="true")


def test_progress_fragment_of_a_finished_run_swaps_in_the_summary_and_stops_polling(as_viewer, finished_run):
    response = as_viewer.get(f"/runs/{finished_run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert response.status_code == 286
    html = response.content.decode()
    assert 'data-percent="100.0">100%<' in html
    assert '<div id="run-results" hx-swap-oob="true">' in html
    assert "Offer breakdown" in html
    assert "Channel breakdown" in html
    assert "Run completed." in html


def test_pending_run_says_it_waits_for_a_worker(as_viewer, pending_run):
    html = as_viewer.get(f"/runs/{pending_run.pk}/").content.decode()
    assert "Waiting for a worker" in html
    assert 'class="badge badge-neutral status-pending"' in html


# --- results -------------------------------------------------------------------------------


def test_summary_breakdowns_and_funnel(as_viewer, finished_run):
    html = as_viewer.get(f"/runs/{finished_run.pk}/").content.decode()
    summary = finished_run.summary
    assert "hx-trigger" not in html
    assert f'data-summary="processed">{summary["customers_processed"]}<' in html
    assert f'data-summary="with-recommendations">{summary["customers_with_recommendations"]}<' in html
    assert f'data-summary="recommendations">{summary["total_recommendations"]}<' in html
    assert f'data-summary="average">{summary["average_offers_per_customer"]:.2f}<' in html
    # every bar carries its count and its share as text
    offers = html[html.index('id="offer-chart"') : html.index("</table>", html.index('id="offer-chart"'))]
    total = summary["total_recommendations"]
    for offer_id, count in summary["offer_counts"].items():
        assert f'<td class="num">{count}</td>' in offers or f'<td class="num">{count:,}</td>' in offers, offer_id
    loan = summary["offer_counts"][next(o for o in summary["offer_counts"] if "Personal Loan" in offers)]
    assert "Personal Loan" in offers
    assert f"{round(100 * loan / total, 1):g}%" in offers
    channels = html[html.index('id="channel-chart"') :]
    assert "Email" in channels
    assert "SMS" in channels
    funnel = html[html.index('id="funnel-title"') :]
    assert "Considered" in funnel
    assert "Not eligible" in funnel
    assert "Recommended" in funnel
    assert "Home Insurance" in funnel  # considered, never recommended (zero business value)


def test_failed_run_shows_its_error_and_context_with_traceback_for_admins(client_as, tenant, pending_run):
    Run.objects.filter(pk=pending_run.pk).update(
        status=RunStatus.FAILED,
        error="Run failed during planning: OperationalError: no such view",
        error_context={"stage": "planning", "exception": "OperationalError", "traceback": "Traceback (most recent"},
        completed_at=timezone.now(),
    )
    viewer = client_as(tenant, Role.VIEWER).get(f"/runs/{pending_run.pk}/").content.decode()
    assert "The run failed" in viewer
    assert "Run failed during planning: OperationalError: no such view" in viewer
    assert "planning" in viewer
    assert "OperationalError" in viewer
    assert "Traceback (most recent" not in viewer
    admin = client_as(tenant, Role.ADMIN).get(f"/runs/{pending_run.pk}/").content.decode()
    assert "Traceback (most recent" in admin


def test_run_that_failed_before_counting_shows_no_progress(as_viewer, pending_run):
    Run.objects.filter(pk=pending_run.pk).update(status=RunStatus.FAILED, error="boom", completed_at=timezone.now())
    html = as_viewer.get(f"/runs/{pending_run.pk}/").content.decode()
    assert 'data-percent="0.0">—<' in html
    assert "Stopped before any customer was processed." in html
    assert 'class="progress progress-lg is-failed"' in html


def test_customers_are_searchable_by_external_id(as_viewer, finished_run):
    last_id = Recommendation.objects.filter(run=finished_run).order_by("-customer_id").values_list("customer_id")[:1]
    customer = Customer.objects.get(pk__in=last_id)
    response = as_viewer.get(f"/runs/{finished_run.pk}/customers/?customer={customer.external_id}")
    html = response.content.decode()
    assert html.count('class="customer-row"') == 1
    assert f'data-external-id="{customer.external_id}"' in html
    assert "Personal Loan" in html
    assert f"Hi {customer.first_name or 'there'}" in html  # the creative's personalized subject
    # the same search works without JavaScript on the detail page
    page = as_viewer.get(f"/runs/{finished_run.pk}/?customer={customer.external_id}").content.decode()
    assert f'data-external-id="{customer.external_id}"' in page
    assert f'value="{customer.external_id}"' in page


def test_unknown_customer_gets_an_empty_state(as_viewer, finished_run):
    html = as_viewer.get(f"/runs/{finished_run.pk}/customers/?customer=nobody").content.decode()
    assert "No results for “nobody”" in html


def test_customer_pages_go_by_keyset(as_viewer, finished_run):
    first = as_viewer.get(f"/runs/{finished_run.pk}/customers/").content.decode()
    assert first.count('class="customer-row"') == 20
    ids = sorted(set(Recommendation.objects.filter(run=finished_run).values_list("customer_id", flat=True)))
    assert f"after={ids[19]}" in first
    second = as_viewer.get(f"/runs/{finished_run.pk}/customers/?after={ids[19]}").content.decode()
    assert second.count('class="customer-row"') == min(20, len(ids) - 20)
    assert "First page" in second
    # a cursor that is not a number starts from the beginning
    assert (
        as_viewer.get(f"/runs/{finished_run.pk}/customers/?after=%C2%B2").content.decode().count("customer-row") == 20
    )


def test_csv_download_streams_every_recommendation(as_viewer, finished_run):
    response = as_viewer.get(f"/runs/{finished_run.pk}/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'{finished_run.pk}.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(body(response))))
    assert rows[0][:4] == ["customer_id", "external_id", "email", "rank"]
    assert len(rows) - 1 == finished_run.recommendation_count


def test_csv_download_escapes_a_formula_in_a_customer_field(as_viewer, finished_run):
    first = Recommendation.objects.filter(run=finished_run).order_by("customer_id").first()
    assert first is not None
    Customer.objects.filter(pk=first.customer_id).update(external_id="=cmd|' /C calc'!A0")
    rows = list(csv.reader(io.StringIO(body(as_viewer.get(f"/runs/{finished_run.pk}/export.csv")))))
    assert rows[1][1] == "'=cmd|' /C calc'!A0"


def test_json_download_is_json_lines(as_viewer, finished_run):
    response = as_viewer.get(f"/runs/{finished_run.pk}/export.json")
    assert response["Content-Type"] == "application/x-ndjson"
    lines = body(response).splitlines()
    assert len(lines) == finished_run.recommendation_count
    assert as_viewer.get(f"/runs/{finished_run.pk}/export.xml").status_code == 404


def test_detail_query_count_is_bounded(as_viewer, finished_run, django_assert_num_queries):
    as_viewer.get(f"/runs/{finished_run.pk}/")
    # session, user, membership, run, results (offers, channels, policies), customers page
    # (customer ids, catalogue: offers, channels, creatives, customers, recommendations),
    # run channels (the ones fixed when the run was created), memberships (switcher)
    with django_assert_num_queries(16):
        as_viewer.get(f"/runs/{finished_run.pk}/")


# --- cancel and delete ---------------------------------------------------------------------


def test_editor_cancels_a_running_run(as_editor, running_run):
    response = as_editor.post(f"/runs/{running_run.pk}/cancel/")
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{running_run.pk}/"
    assert Run.objects.get(pk=running_run.pk).status == RunStatus.CANCELLED
    html = as_editor.get(response["Location"]).content.decode()
    assert "cancelled" in html
    assert 'id="cancel-run"' not in html


def test_a_cancelled_run_shows_what_it_wrote_as_not_delivered(as_editor, running_run):
    written = Recommendation.objects.filter(run=running_run).count()
    assert written > 0
    as_editor.post(f"/runs/{running_run.pk}/cancel/")
    html = as_editor.get(f"/runs/{running_run.pk}/").content.decode()
    delivered = f'<dd id="run-recommendations">none delivered <span class="muted">({written} written before it stopped)'
    assert delivered in html
    assert "nobody was contacted" in html
    assert f"({written} recommendations written before the cancel)" in html
    download = as_editor.get(f"/runs/{running_run.pk}/export.csv", follow=True)
    assert download.redirect_chain == [(f"/runs/{running_run.pk}/", 302)]
    assert "are not results and nobody was contacted" in download.content.decode()


def test_viewer_cannot_cancel(as_viewer, running_run):
    response = as_viewer.post(f"/runs/{running_run.pk}/cancel/")
    assert response.status_code == 403
    assert Run.objects.get(pk=running_run.pk).status == RunStatus.RUNNING


def test_cancelling_a_finished_run_says_why_not(as_editor, finished_run):
    response = as_editor.post(f"/runs/{finished_run.pk}/cancel/", follow=True)
    assert "only pending or running runs can be cancelled" in response.content.decode()
    assert Run.objects.get(pk=finished_run.pk).status == RunStatus.COMPLETED


def test_cancel_needs_post(as_editor, running_run):
    assert as_editor.get(f"/runs/{running_run.pk}/cancel/").status_code == 405


def test_only_admins_delete_finished_runs(as_editor, as_admin, finished_run, running_run):
    assert as_editor.post(f"/runs/{finished_run.pk}/delete/").status_code == 403
    assert Run.objects.filter(pk=finished_run.pk).exists()
    refused = as_admin.post(f"/runs/{running_run.pk}/delete/", follow=True)
    assert "cancel it before deleting it" in refused.content.decode()
    response = as_admin.post(f"/runs/{finished_run.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == "/runs/"
    assert not Run.objects.filter(pk=finished_run.pk).exists()
    assert not Recommendation.objects.filter(run_id=finished_run.pk).exists()
