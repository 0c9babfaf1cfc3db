from __future__ import annotations

import pytest
from django.test import override_settings

from decisionflows.models import Contact, ContactHistory
from kaireon.models import AuditLog
from kaireon.principal import Principal
from runs import services
from runs.models import ChunkStatus, Recommendation, Run, RunChunk, RunStatus
from runs.selectors import run_results
from segments.models import Customer

pytestmark = pytest.mark.django_db


def new_run(catalogue, actor) -> Run:
    """A pending run of the catalogue's flow over everyone, not dispatched: the test drives it."""
    return services.run_create(
        tenant=catalogue.tenant,
        actor=actor,
        decision_flow_id=catalogue.flow.pk,
        segment_id=catalogue.everyone.pk,
        dispatch=False,
    )


def finalize(run_id: str) -> Run:
    run = services.run_finalize(run_id=run_id)
    assert run is not None
    return run


def expected_recommendations(tenant) -> dict[int, list[tuple[str, str]]]:
    """The catalogue's decisions worked out by hand (see tests/runs/conftest.py): adults get the
    gold card by email and the loan by SMS (email is taken); minors the loan by email and
    savings by SMS; insurance never (zero business value); suppressed customers nothing."""
    expected = {}
    for customer in Customer.objects.filter(tenant=tenant):
        if customer.suppressed:
            continue
        if customer.attributes["age"] >= 18:
            expected[customer.pk] = [("gold-card", "Email"), ("loan", "SMS")]
        else:
            expected[customer.pk] = [("loan", "Email"), ("savings", "SMS")]
    return expected


def recommendations_of(run: Run) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    from decisionflows.models import Channel, Offer

    offers = dict(Offer.objects.values_list("pk", "key"))
    channels = dict(Channel.objects.values_list("pk", "name"))
    for row in Recommendation.objects.filter(run=run).order_by("customer_id", "rank"):
        found.setdefault(row.customer_id, []).append((offers[row.offer_id], channels[row.channel_id]))
    return found


@override_settings(RUNS_CHUNK_SIZE=25)
def test_inline_run_recommends_what_the_flow_says(catalogue, system_actor):
    run = new_run(catalogue, system_actor)
    assert run.status == RunStatus.PENDING
    assert run.name == "Next Best Action x All customers"
    run = services.run_execute_inline(run_id=run.pk)

    assert run.status == RunStatus.COMPLETED, run.error
    assert run.chunk_count == 3  # 60 customers in chunks of 25
    assert run.processed_customers == run.total_customers == 60
    expected = expected_recommendations(catalogue.tenant)
    assert recommendations_of(run) == expected

    summary = run_results(run)
    total = sum(len(v) for v in expected.values())
    assert summary["total_recommendations"] == total == run.recommendation_count
    assert summary["customers_with_recommendations"] == len(expected)
    assert summary["customers_without_recommendations"] == 60 - len(expected)
    assert summary["average_offers_per_customer"] == round(total / 60, 3)
    by_offer = {item["offer_key"]: item["count"] for item in summary["offer_breakdown"]}
    brute: dict[str, int] = {}
    for offers in expected.values():
        for key, _ in offers:
            brute[key] = brute.get(key, 0) + 1
    assert by_offer == brute
    assert sum(item["percent"] for item in summary["offer_breakdown"]) == pytest.approx(100, abs=0.2)
    by_channel = {item["channel_name"]: item["count"] for item in summary["channel_breakdown"]}
    assert by_channel == {"Email": len(expected), "SMS": len(expected)}
    funnel = summary["funnel"]
    suppressed = Customer.objects.filter(suppressed=True).count()
    assert funnel["customers_without_offers"] == [{"reason": "contact_policy", "count": suppressed}]
    insurance = next(row for row in funnel["offers"] if row["offer_id"] == catalogue.offers["insurance"].pk)
    assert insurance["zero_score"] == 60 - suppressed
    assert insurance["by_policy"] == [
        {"policy_id": insurance["by_policy"][0]["policy_id"], "policy_name": "No suppressed", "count": suppressed}
    ]
    history = Contact.objects.filter(source="run", source_id=run.pk)
    assert history.count() == total
    assert set(history.values_list("customer_id", "offer__key")) == {
        (customer, key) for customer, offers in expected.items() for key, _ in offers
    }
    assert AuditLog.objects.filter(object_id=run.pk, action="finish").exists()


def test_snapshot_ignores_customers_added_after_planning(catalogue, system_actor):
    run = new_run(catalogue, system_actor)
    chunk_ids = services.run_plan(run_id=run.pk, dispatch=False)
    late = Customer.objects.create(tenant=catalogue.tenant, external_id="late", attributes={"age": 40, "tier": "gold"})
    for chunk_id in chunk_ids:
        services.run_chunk_process(chunk_id=chunk_id, finalize=False)
    run = finalize(run.pk)
    assert run.total_customers == 60
    assert not Recommendation.objects.filter(run=run, customer_id=late.pk).exists()


def test_chunk_processed_twice_writes_its_rows_once(catalogue, system_actor):
    run = new_run(catalogue, system_actor)
    [chunk_id] = services.run_plan(run_id=run.pk, dispatch=False)
    assert services.run_chunk_process(chunk_id=chunk_id, finalize=False) is True
    rows = Recommendation.objects.filter(run=run).count()
    assert rows > 0
    # a redelivered message for the same chunk does nothing
    assert services.run_chunk_process(chunk_id=chunk_id, finalize=False) is False
    assert Recommendation.objects.filter(run=run).count() == rows
    run.refresh_from_db()
    assert run.chunks_done == 1
    assert run.processed_customers == 60


def test_second_plan_is_a_no_op(catalogue, system_actor):
    run = new_run(catalogue, system_actor)
    first = services.run_plan(run_id=run.pk, dispatch=False)
    assert services.run_plan(run_id=run.pk, dispatch=False) == []
    assert RunChunk.objects.filter(run=run).count() == len(first)


def test_cancel_stops_chunks_not_yet_done(catalogue, system_actor):
    with override_settings(RUNS_CHUNK_SIZE=20):
        run = new_run(catalogue, system_actor)
        first, *rest = services.run_plan(run_id=run.pk, dispatch=False)
    services.run_chunk_process(chunk_id=first, finalize=False)
    services.run_cancel(tenant=catalogue.tenant, actor=system_actor, run=run, reason="wrong segment")
    for chunk_id in rest:
        assert services.run_chunk_process(chunk_id=chunk_id) is False
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert run.chunks_done == 1
    assert set(RunChunk.objects.filter(run=run).values_list("status", flat=True)) == {
        ChunkStatus.DONE,
        ChunkStatus.CANCELLED,
    }
    assert AuditLog.objects.get(object_id=run.pk, action="cancel").reason == "wrong segment"
    # the done chunk's rows stay as results, but a cancelled run contacted nobody
    assert Recommendation.objects.filter(run=run).exists()
    assert not Contact.objects.filter(source_id=run.pk).exists()


def test_failed_chunk_makes_run_completed_with_errors(catalogue, system_actor):
    with override_settings(RUNS_CHUNK_SIZE=30):
        run = new_run(catalogue, system_actor)
        good, bad = services.run_plan(run_id=run.pk, dispatch=False)
    services.run_chunk_process(chunk_id=good, finalize=False)
    assert services.run_chunk_fail(chunk_id=bad, error="ValueError: boom") is True
    run = finalize(run.pk)
    assert run.status == RunStatus.COMPLETED_WITH_ERRORS
    assert run.failed_customers == 30
    assert run.summary is not None
    assert run.summary["customers_failed"] == 30
    assert "1 of 2 chunks failed" in run.error
    assert run.error.endswith("First error: ValueError: boom")
    assert run.error_context == {"stage": "chunks", "failed_chunks": [1], "first_error": "ValueError: boom"}


def test_every_chunk_failing_fails_the_run(catalogue, system_actor):
    run = new_run(catalogue, system_actor)
    [chunk_id] = services.run_plan(run_id=run.pk, dispatch=False)
    services.run_chunk_fail(chunk_id=chunk_id, error="RuntimeError: database on fire")
    run = finalize(run.pk)
    assert run.status == RunStatus.FAILED
    assert "database on fire" in run.error
    assert run.error_context["failed_chunks"] == [0]


def test_frequency_cap_holds_across_two_runs(catalogue, system_actor):
    from decisionflows import services as df

    df.contact_policy_create(
        tenant=catalogue.tenant,
        actor=Principal(tenant=catalogue.tenant, role="admin"),
        data={
            "name": "Two a week",
            "policy_type": "frequency_cap",
            "max_count": 2,
            "period": "week",
            "scope": "global",
        },
    )
    first = new_run(catalogue, system_actor)
    first = services.run_execute_inline(run_id=first.pk)
    assert first.recommendation_count > 0
    second = new_run(catalogue, system_actor)
    second = services.run_execute_inline(run_id=second.pk)
    assert second.status == RunStatus.COMPLETED
    # every customer who got two offers last time has used this week's two contacts
    assert second.recommendation_count == 0
    assert second.summary is not None
    assert second.summary["funnel"]["customers_without_offers"]["contact_policy"] == 60


def _two_a_week(catalogue) -> None:
    from decisionflows import services as df

    df.contact_policy_create(
        tenant=catalogue.tenant,
        actor=Principal(tenant=catalogue.tenant, role="admin"),
        data={
            "name": "Two a week",
            "policy_type": "frequency_cap",
            "max_count": 2,
            "period": "week",
            "scope": "global",
        },
    )


def test_a_deleted_run_leaves_its_contacts_in_the_history(catalogue, system_actor):
    _two_a_week(catalogue)
    first = services.run_execute_inline(run_id=new_run(catalogue, system_actor).pk)
    contacts = set(Contact.objects.filter(source_id=first.pk).values_list("customer_id", "offer_id", "channel_id"))
    assert len(contacts) == first.recommendation_count > 0
    services.run_delete(tenant=catalogue.tenant, actor=system_actor, instance=first)
    assert not Recommendation.objects.filter(run_id=first.pk).exists()
    # the contacts moved to the history table, once each, and still count against the cap
    kept = ContactHistory.objects.filter(source="run", source_id=first.pk)
    assert set(kept.values_list("customer_id", "offer_id", "channel_id")) == contacts
    assert kept.count() == len(contacts)
    second = services.run_execute_inline(run_id=new_run(catalogue, system_actor).pk)
    assert second.recommendation_count == 0


def test_a_cancelled_run_contacted_nobody_and_deleting_it_keeps_nothing(catalogue, system_actor):
    _two_a_week(catalogue)
    run = services.run_execute_inline(run_id=new_run(catalogue, system_actor).pk)
    assert Contact.objects.filter(source_id=run.pk).exists()
    Run.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)
    assert not Contact.objects.filter(source_id=run.pk).exists()
    services.run_delete(tenant=catalogue.tenant, actor=system_actor, instance=Run.objects.get(pk=run.pk))
    assert not ContactHistory.objects.filter(source_id=run.pk).exists()
    # nothing counted: the next run recommends as if the first had never been
    second = services.run_execute_inline(run_id=new_run(catalogue, system_actor).pk)
    assert second.recommendation_count == run.recommendation_count


@pytest.mark.parametrize(
    ("total", "size"),
    [
        (0, 10_000),
        (60, 10_000),
        (100_000, 10_000),
        (500_000, 10_000),
        (600_000, 12_000),
        (1_000_000, 20_000),
        (5_000_000, 20_000),
    ],
)
def test_chunk_size_aims_at_fifty_chunks_within_bounds(settings, total, size):
    settings.RUNS_CHUNK_SIZE = None
    assert services.chunk_size(total) == size
