"""What the steps do: sends (contact history once, personalization, policies, onBlocked),
decide, branches over variables, customer attributes and outcomes; and a send's exactly-once
guarantee when a batch is retried or dies half-way."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from decisionflows import services as df
from decisionflows.models import ContactHistory
from journeys import bulk, operations, services, stepping
from journeys.models import ExecutionRun, RunEvent, Send
from journeys.selectors import clock_tick
from segments.models import Customer
from tests.journeys.conftest import actions, advance, make_plan, reachable_customers, step_events


def send(catalogue: Any, step_id: str, next_step: str, offer: str = "loan", **extra: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "type": "send",
        "channelId": catalogue.email.pk,
        "offerId": catalogue.offers[offer].pk,
        "next": next_step,
        **extra,
    }


def end(step_id: str = "done", outcome: str = "finished") -> dict[str, Any]:
    return {"id": step_id, "type": "end", "outcome": outcome}


def test_send_records_contact_history_and_a_personalized_delivery(tenant, catalogue):
    plan = make_plan(tenant, [send(catalogue, "hello", "done"), end()])
    customer = Customer.objects.filter(tenant=tenant, suppressed=False, first_name="Ana")[0]
    run = operations.execute(plan, customer)
    advance()
    history = ContactHistory.objects.get(source="journey", source_id=str(run.pk))
    assert (history.customer_id, history.offer_id, history.channel_id) == (
        customer.pk,
        catalogue.offers["loan"].pk,
        catalogue.email.pk,
    )
    delivery = Send.objects.get(run=run)
    assert (delivery.step, delivery.visit, delivery.subject, delivery.content) == (
        "hello",
        1,
        "Hi Ana",
        "Personal Loan for you",
    )
    event = RunEvent.objects.get(run=run, action="send")
    assert event.data == {
        "offerId": catalogue.offers["loan"].pk,
        "channelId": catalogue.email.pk,
        "creativeId": delivery.creative_id,
        "visit": 1,
    }
    run.refresh_from_db()
    assert (run.status, run.outcome) == ("completed", "finished")


def test_send_blocked_by_suppression_follows_on_blocked(tenant, welcome):
    customer = Customer.objects.filter(tenant=tenant, suppressed=False)[0]
    run = operations.execute(welcome, customer)
    Customer.objects.filter(pk=customer.pk).update(suppressed=True)  # suppressed after enrolment
    advance()
    run.refresh_from_db()
    assert (run.status, run.outcome) == ("completed", "stopped")
    blocked = RunEvent.objects.get(run=run, action="send_blocked")
    assert blocked.reason == "contact policy 'No suppressed' (suppression)"
    assert blocked.data["code"] == "contact_policy"
    assert blocked.data["policy"] == "No suppressed"
    assert not ContactHistory.objects.filter(source_id=str(run.pk)).exists()
    assert not Send.objects.filter(run=run).exists()
    assert step_events(run) == [("hello", "send_blocked"), ("stopped", "end")]


def test_blocked_send_without_on_blocked_ends_the_run(tenant, catalogue, system_actor):
    df.contact_policy_create(
        tenant=tenant,
        actor=system_actor,
        data={"name": "One a day", "policy_type": "frequency_cap", "max_count": 1, "period": "day", "scope": "global"},
    )
    plan = make_plan(
        tenant, [send(catalogue, "first", "second"), send(catalogue, "second", "done", "insurance"), end()]
    )
    run = operations.execute(plan, reachable_customers(tenant, 1)[0])
    advance()
    run.refresh_from_db()
    assert (run.status, run.outcome, run.steps_completed) == ("completed", "blocked", 2)
    assert actions(run) == ["enrolled", "send", "send_blocked", "completed"]
    assert RunEvent.objects.get(run=run, action="send_blocked").data["policy"] == "One a day"
    assert ContactHistory.objects.filter(source_id=str(run.pk)).count() == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"offer": {"status": "paused"}}, "offer_unavailable"),
        ({"channel": {"status": "inactive"}}, "channel_unavailable"),
    ],
)
def test_send_of_an_unavailable_offer_or_channel_is_blocked(tenant, catalogue, change, code):
    plan = make_plan(tenant, [send(catalogue, "hello", "done", onBlocked="done"), end()])
    run = operations.execute(plan, reachable_customers(tenant, 1)[0])
    if "offer" in change:
        type(catalogue.offers["loan"]).objects.filter(pk=catalogue.offers["loan"].pk).update(**change["offer"])
    else:
        type(catalogue.email).objects.filter(pk=catalogue.email.pk).update(**change["channel"])
    advance()
    assert RunEvent.objects.get(run=run, action="send_blocked").data["code"] == code


def test_branch_on_customer_attributes_and_default(tenant, catalogue):
    steps = [
        {
            "id": "check",
            "type": "branch",
            "conditions": [
                {"condition": {"field": "customer.tier", "operator": "eq", "value": "gold"}, "next": "gold"},
                {"condition": {"field": "customer.age", "operator": "lt", "value": 18}, "next": "minor"},
            ],
            "default": "other",
        },
        end("gold", "gold"),
        end("minor", "minor"),
        end("other", "other"),
    ]
    plan = make_plan(tenant, steps)
    customers = reachable_customers(tenant, 60)
    runs = {c.pk: operations.execute(plan, c) for c in customers}
    advance()
    for customer in customers:
        run = ExecutionRun.objects.get(pk=runs[customer.pk].pk)
        expected = (
            "gold" if customer.attributes["tier"] == "gold" else "minor" if customer.attributes["age"] < 18 else "other"
        )
        assert run.outcome == expected, customer.attributes
    assert {r.outcome for r in ExecutionRun.objects.filter(plan=plan)} == {"gold", "minor", "other"}


def test_branch_on_the_outcome_of_the_last_send(tenant, catalogue):
    steps = [
        send(catalogue, "hello", "check", onBlocked="check"),
        {
            "id": "check",
            "type": "branch",
            "conditions": [
                {"condition": {"field": "outcome.status", "operator": "eq", "value": "blocked"}, "next": "no"},
                {"condition": {"field": "outcome.channel_id", "operator": "eq", "value": catalogue.email.pk},
                 "next": "yes"},
            ],
            "default": "no",
        },
        end("yes", "reached"),
        end("no", "not-reached"),
    ]  # fmt: skip
    plan = make_plan(tenant, steps)
    reachable = reachable_customers(tenant, 1)[0]
    blocked_customer = Customer.objects.filter(tenant=tenant).exclude(pk=reachable.pk)[0]
    good, bad = operations.execute(plan, reachable), operations.execute(plan, blocked_customer)
    Customer.objects.filter(pk=blocked_customer.pk).update(suppressed=True)
    advance()
    assert ExecutionRun.objects.get(pk=good.pk).outcome == "reached"
    assert ExecutionRun.objects.get(pk=bad.pk).outcome == "not-reached"
    branch = RunEvent.objects.get(run=bad, action="branch")
    assert branch.data == {"matched": 0, "next": "no"}


def test_branch_on_variables_with_default(tenant, welcome):
    gold, plain = reachable_customers(tenant, 2)
    vip = operations.execute(welcome, gold, {"tier": "gold"})
    other = operations.execute(welcome, plain, {"tier": "silver"})
    advance(3)
    assert ExecutionRun.objects.get(pk=vip.pk).variables == {"tier": "gold", "vip": True}
    assert ExecutionRun.objects.get(pk=other.pk).variables == {"tier": "silver"}
    assert RunEvent.objects.get(run=other, action="branch").data == {"matched": None, "next": "done"}


def test_decide_stores_the_chosen_offer_and_send_uses_it(tenant, catalogue):
    steps = [
        {"id": "nba", "type": "decide", "decisionFlowId": catalogue.flow.pk, "storeAs": "nba", "next": "check"},
        {
            "id": "check",
            "type": "branch",
            "conditions": [{"condition": {"field": "outcome.status", "operator": "eq", "value": "decided"},
                            "next": "go"}],
            "default": "none",
        },
        {"id": "go", "type": "send", "offerFrom": "nba", "next": "done"},
        end(),
        end("none", "no-offer"),
    ]  # fmt: skip
    plan = make_plan(tenant, steps)
    adult = Customer.objects.filter(tenant=tenant, suppressed=False, attributes__age__gte=18)[0]
    run = operations.execute(plan, adult)
    advance()
    run.refresh_from_db()
    from decisionflows.recommend import recommend_for_customer

    best = recommend_for_customer(tenant=tenant, flow=catalogue.flow, customer=adult)["recommendations"][0]
    assert run.variables["nba"] == {
        "offerId": best["offer_id"],
        "offerKey": best["offer_key"],
        "channelId": best["channel_id"],
        "creativeId": best["creative_id"],
        "score": pytest.approx(best["score"]),
    }
    assert run.outcome == "finished"
    delivery = Send.objects.get(run=run)
    assert (delivery.offer_id, delivery.channel_id, delivery.creative_id) == (
        best["offer_id"],
        best["channel_id"],
        best["creative_id"],
    )


def test_decide_with_a_flow_that_cannot_run_fails_the_run(tenant, catalogue):
    steps = [{"id": "nba", "type": "decide", "decisionFlowId": catalogue.flow.pk, "storeAs": "nba", "next": "done"}]
    plan = make_plan(tenant, [*steps, end()])
    run = operations.execute(plan, reachable_customers(tenant, 1)[0])
    type(catalogue.flow).objects.filter(pk=catalogue.flow.pk).update(status="paused")
    advance()
    run.refresh_from_db()
    assert run.status == "failed"
    assert "cannot recommend" in run.error
    assert actions(run)[-1] == "failed"


# --- exactly once -------------------------------------------------------------------------


@pytest.fixture
def two_sends(tenant, catalogue):
    steps = [send(catalogue, "first", "pause"), {"id": "pause", "type": "wait", "ticks": 1, "next": "second"},
             send(catalogue, "second", "done", "insurance"), end()]  # fmt: skip
    return make_plan(tenant, steps)


def test_processing_the_same_tick_twice_sends_once(tenant, two_sends):
    runs = [operations.execute(two_sends, c) for c in reachable_customers(tenant, 5)]
    tick = services.journeys_tick(dispatch=False)[0]
    assert services.journey_batch_process(tick=tick).sends == 5
    # the message is redelivered (worker lost before the ack): nothing is due any more
    assert services.journey_batch_process(tick=tick).runs == 0
    assert ContactHistory.objects.filter(source="journey").count() == 5
    assert [step_events(r) for r in runs] == [[("first", "send"), ("pause", "wait")]] * 5


def test_a_send_replayed_from_the_same_state_is_not_sent_again(tenant, two_sends):
    """The unique (run, step, visit) key: even if the run's advance were lost while its delivery
    stayed (state restored by hand), executing the same visit again sends nothing more."""
    run = operations.execute(two_sends, reachable_customers(tenant, 1)[0])
    tick = services.journeys_tick(dispatch=False)[0]
    before = ExecutionRun.objects.filter(pk=run.pk).values(*stepping.RUN_FIELDS).get()
    services.journey_batch_process(tick=tick)
    ExecutionRun.objects.filter(pk=run.pk).update(**before)
    RunEvent.objects.filter(run=run, seq__gt=before["event_seq"]).delete()
    services.journey_batch_process(tick=tick)
    assert Send.objects.filter(run=run).count() == 1
    assert ContactHistory.objects.filter(source_id=str(run.pk)).count() == 1
    event = RunEvent.objects.get(run=run, action="send")
    assert event.data["duplicate"] is True
    assert "not sent again" in event.reason
    run.refresh_from_db()
    assert run.status == "waiting"


def test_a_batch_that_dies_after_its_sends_leaves_nothing_and_is_redone_once(tenant, two_sends):
    runs = [operations.execute(two_sends, c) for c in reachable_customers(tenant, 4)]
    tick = services.journeys_tick(dispatch=False)[0]
    real_update = bulk.update

    def crash(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("worker lost between the sends and the run update")

    with mock.patch.object(bulk, "update", crash), pytest.raises(ConnectionError):
        services.journey_batch_process(tick=tick)
    assert not ContactHistory.objects.filter(source="journey").exists()
    assert not Send.objects.exists()
    assert {r.status for r in ExecutionRun.objects.filter(plan=two_sends)} == {"active"}
    assert bulk.update is real_update
    assert services.journey_batch_process(tick=tick).sends == 4  # the retry
    advance()
    for run in runs:
        run.refresh_from_db()
        assert run.status == "completed"
        assert Send.objects.filter(run=run).count() == 2
        assert ContactHistory.objects.filter(source_id=str(run.pk)).count() == 2
        assert [s for s, a in step_events(run) if a == "send"] == ["first", "second"]


def test_a_loop_through_a_wait_sends_once_per_visit(tenant, catalogue):
    steps = [
        send(catalogue, "nudge", "count"),
        {"id": "count", "type": "update", "set": {"nudged": True}, "next": "pause"},
        {"id": "pause", "type": "wait", "ticks": 1, "next": "again"},
        {
            "id": "again",
            "type": "branch",
            "conditions": [{"condition": {"field": "variables.stop", "operator": "eq", "value": True}, "next": "done"}],
            "default": "nudge",
        },
        end(),
    ]
    run = operations.execute(make_plan(tenant, steps), reachable_customers(tenant, 1)[0])
    advance(3)
    assert list(Send.objects.filter(run=run).order_by("visit").values_list("step", "visit")) == [
        ("nudge", 1),
        ("nudge", 2),
        ("nudge", 3),
    ]
    assert clock_tick() == 3
