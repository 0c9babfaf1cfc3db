"""Plans: the graph checks of publish (each rule, each message naming its step), versions and
the pinning of runs to the version they started on."""

from __future__ import annotations

from typing import Any

import pytest

from journeys import operations, plans, services
from journeys.models import PlanStatus, PlanVersion
from kaireon import errors
from kaireon.errors import Conflict
from kaireon.models import AuditLog
from kaireon.rules import FieldSpec
from tests.journeys.conftest import advance, make_plan, reachable_customers


def end(step_id: str = "done", outcome: str = "finished") -> dict[str, Any]:
    return {"id": step_id, "type": "end", "outcome": outcome}


def update(step_id: str, next_step: str) -> dict[str, Any]:
    return {"id": step_id, "type": "update", "set": {"x": 1}, "next": next_step}


def wait(step_id: str, next_step: str, ticks: int = 1) -> dict[str, Any]:
    return {"id": step_id, "type": "wait", "ticks": ticks, "next": next_step}


def errors_of(steps: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(plans.PlanError) as caught:
        plans.validate_steps(steps, **kwargs)
    return caught.value.errors


def test_valid_plan_is_normalised_and_remaining_steps_count_the_longest_path():
    steps = [
        update("a", "pause"),
        {"id": "pause", "type": "wait", "duration": 25, "next": "check"},
        {
            "id": "check",
            "type": "branch",
            "conditions": [{"condition": {"field": "variables.score", "operator": "gte", "value": 3}, "next": "b"}],
            "default": "done",
        },
        update("b", "done"),
        end(),
    ]
    normalised = plans.validate_steps(steps, tick_seconds=10)
    assert normalised[1]["ticks"] == 3  # 25 s at 10 s a tick, rounded up
    assert plans.remaining_steps(normalised) == {"a": 5, "pause": 4, "check": 3, "b": 2, "done": 1}


def test_remaining_steps_cut_the_back_edge_of_a_loop_through_a_wait():
    steps = [
        wait("poll", "check"),
        {
            "id": "check",
            "type": "branch",
            "conditions": [{"condition": {"field": "variables.done", "operator": "eq", "value": True}, "next": "done"}],
            "default": "poll",
        },
        end(),
    ]
    assert plans.remaining_steps(plans.validate_steps(steps)) == {"poll": 3, "check": 2, "done": 1}


def test_unknown_step_type_names_the_step():
    errors = errors_of([update("a", "b"), {"id": "b", "type": "jump", "next": "done"}, end()])
    assert errors[0].startswith("steps[1] (id \"b\"): unknown step type 'jump'")


def test_next_that_is_not_a_step_names_the_step():
    errors = errors_of([update("a", "nowhere"), end()])
    assert errors == ['steps[0] (id "a"): next "nowhere" is not a step of this plan']


def test_branch_without_default_names_the_step():
    steps = [
        update("a", "b"),
        update("b", "c"),
        wait("c", "check"),
        {"id": "check", "type": "branch", "conditions": [{"condition": {}, "next": "done"}]},
        end(),
    ]
    assert errors_of(steps) == ['steps[3] (id "check"): branch has no default']


def test_unreachable_step_names_the_step():
    errors = errors_of([update("a", "done"), end(), update("orphan", "done")])
    assert errors == ['steps[2] (id "orphan"): not reachable from the first step']


def test_cycle_without_a_wait_names_its_steps():
    steps = [
        update("a", "b"),
        {
            "id": "b",
            "type": "branch",
            "conditions": [{"condition": {"field": "variables.x", "operator": "eq", "value": 1}, "next": "a"}],
            "default": "done",
        },
        end(),
    ]
    assert errors_of(steps) == ['steps[0] (id "a"): cycle without a wait: a → b → a']


def test_self_loop_is_a_cycle_without_a_wait():
    steps = [{"id": "a", "type": "send", "channelId": "ch", "offerId": "off", "next": "done", "onBlocked": "a"}, end()]
    assert errors_of(steps) == ['steps[0] (id "a"): cycle without a wait: a → a']


def test_cycle_through_a_wait_is_allowed_but_must_reach_an_end():
    looping = [update("a", "pause"), wait("pause", "a")]
    errors = errors_of(looping)
    assert errors == [
        'steps[0] (id "a"): no path from here reaches an end step',
        'steps[1] (id "pause"): no path from here reaches an end step',
    ]


def test_every_problem_is_reported_with_its_step():
    steps = [
        {"id": "a", "type": "send", "next": "b"},
        {"id": "b", "type": "wait", "next": "c"},
        {"id": "c", "type": "decide", "storeAs": "has space", "next": "d"},
        {"id": "d", "type": "update", "set": {}, "next": "done"},
        {"id": "done", "type": "end", "outcome": "", "nxt": "a"},
        {"id": "done", "type": "end"},
    ]
    errors = errors_of(steps)
    assert 'steps[0] (id "a"): send needs channelId (a non-empty string)' in errors
    assert 'steps[0] (id "a"): send needs offerId (a non-empty string)' in errors
    assert 'steps[1] (id "b"): wait needs ticks or duration (seconds), exactly one' in errors
    assert 'steps[2] (id "c"): decide needs decisionFlowId (a non-empty string)' in errors
    assert 'steps[2] (id "c"): decide needs storeAs, a variable name (letters, digits, _)' in errors
    assert 'steps[3] (id "d"): update needs set, an object of variable names and values' in errors
    assert 'steps[4] (id "done"): end does not take nxt' in errors
    assert 'steps[4] (id "done"): outcome must be a string of 1-100 characters' in errors
    assert 'steps[5] (id "done"): duplicate id (also steps[4])' in errors


def test_branch_conditions_are_checked_per_namespace():
    customer_fields = {"tier": FieldSpec("tier", "string"), "age": FieldSpec("age", "integer")}
    catalogue = plans.Catalogue(customer_fields=customer_fields)

    def branch(condition: dict[str, Any]) -> list[dict[str, Any]]:
        step = {"id": "check", "type": "branch", "conditions": [{"condition": condition, "next": "done"}]}
        return [{**step, "default": "done"}, end()]

    ok = plans.validate_steps(branch({"field": "customer.age", "operator": "gte", "value": 18.0}), catalogue=catalogue)
    assert ok[0]["conditions"][0]["condition"]["value"] == 18  # typed by the schema: an integer
    plans.validate_steps(branch({"field": "outcome.status", "operator": "eq", "value": "sent"}), catalogue=catalogue)
    plans.validate_steps(branch({"field": "variables.nba.offerKey", "operator": "eq", "value": "loan"}))
    unknown = errors_of(branch({"field": "customer.shoe", "operator": "eq", "value": 1}), catalogue=catalogue)
    assert unknown == ["steps[0] (id \"check\"): conditions[0].condition.field: unknown customer field 'shoe'"]
    namespace = errors_of(branch({"field": "offer.key", "operator": "eq", "value": "x"}))
    assert "use variables.*, customer.* or outcome.*" in namespace[0]
    operator = errors_of(branch({"field": "outcome.status", "operator": "gt", "value": "x"}))
    assert operator[0].startswith('steps[0] (id "check"): conditions[0].condition.operator: gt does not apply')


def test_references_are_checked_against_the_catalogue():
    catalogue = plans.Catalogue(
        channels=frozenset({"ch_1", "ch_2"}), offers=frozenset({"off_1"}), creatives={"cr_1": ("off_1", "ch_2")}
    )
    steps = [
        {"id": "a", "type": "send", "channelId": "ch_9", "offerId": "off_1", "next": "b"},
        {"id": "b", "type": "send", "channelId": "ch_1", "offerId": "off_1", "creativeId": "cr_1", "next": "c"},
        {"id": "c", "type": "decide", "decisionFlowId": "df_9", "storeAs": "nba", "next": "done"},
        end(),
    ]
    assert errors_of(steps, catalogue=catalogue) == [
        'steps[0] (id "a"): unknown channel "ch_9"',
        'steps[1] (id "b"): creative "cr_1" is not the offer\'s creative on that channel',
        'steps[2] (id "c"): unknown decision flow "df_9"',
    ]


# --- publishing and versions (services) ----------------------------------------------------


def test_publish_turns_the_draft_into_version_one_and_the_plan_active(tenant, system_actor, welcome_steps):
    plan = make_plan(tenant, welcome_steps, publish=False)
    assert plan.status == PlanStatus.DRAFT
    version = services.plan_publish(tenant=tenant, actor=system_actor, plan=plan)
    assert (version.number, version.is_published) == (1, True)
    assert version.remaining["hello"] == 5
    plan.refresh_from_db()
    assert (plan.status, plan.published_version, plan.latest_version) == ("active", 1, 1)
    assert AuditLog.objects.filter(tenant=tenant, action="publish", object_id=plan.pk).exists()
    with pytest.raises(Conflict) as again:
        services.plan_publish(tenant=tenant, actor=system_actor, plan=plan)
    assert again.value.extra == {"current_version": 1}


def test_publish_rejects_an_invalid_graph_naming_the_step(tenant, system_actor, catalogue):
    steps = [{"id": "check", "type": "branch", "conditions": [{"condition": {}, "next": "done"}]}, end()]
    plan = make_plan(tenant, steps, publish=False)
    with pytest.raises(errors.ValidationError) as caught:
        services.plan_publish(tenant=tenant, actor=system_actor, plan=plan)
    assert caught.value.by_field() == {"steps": ['steps[0] (id "check"): branch has no default']}
    assert [(e.path, e.short) for e in caught.value.errors] == [("steps[0]", "branch has no default")]
    plan.refresh_from_db()
    assert plan.published_version is None


def test_publish_checks_references_in_the_tenant(tenant, other_tenant, system_actor, catalogue):
    from tests.runs.conftest import build_catalogue

    foreign = build_catalogue(other_tenant, customers=1)
    steps = [{"id": "a", "type": "send", "channelId": foreign.email.pk, "offerId": catalogue.offers["loan"].pk,
              "next": "done"}, end()]  # fmt: skip
    plan = make_plan(tenant, steps, publish=False)
    with pytest.raises(errors.ValidationError) as caught:
        services.plan_publish(tenant=tenant, actor=system_actor, plan=plan)
    assert caught.value.by_field()["steps"] == [f'steps[0] (id "a"): unknown channel "{foreign.email.pk}"']


def test_editing_a_published_plan_starts_a_draft_and_runs_keep_their_version(tenant, system_actor, welcome_steps):
    plan = make_plan(tenant, welcome_steps)
    first, second = reachable_customers(tenant, 2)
    old_run = operations.execute(plan, first)
    changed = [dict(step) for step in welcome_steps]
    changed[4] = end(outcome="finished-v2")
    services.plan_update(tenant=tenant, actor=system_actor, instance=plan, data={"steps": changed})
    plan.refresh_from_db()
    assert (plan.latest_version, plan.published_version) == (2, 1)
    assert PlanVersion.objects.get(plan=plan, number=1).steps[4]["outcome"] == "finished"
    # still a draft: editing it again changes it in place
    services.plan_update(tenant=tenant, actor=system_actor, instance=plan, data={"steps": changed, "name": "W2"})
    assert PlanVersion.objects.filter(plan=plan).count() == 2
    services.plan_publish(tenant=tenant, actor=system_actor, plan=plan)
    new_run = operations.execute(plan, second)
    advance(3)
    old_run.refresh_from_db()
    new_run.refresh_from_db()
    assert (old_run.plan_version, old_run.outcome) == (1, "finished")
    assert (new_run.plan_version, new_run.outcome) == (2, "finished-v2")


def test_published_versions_are_immutable(tenant, welcome):
    version = PlanVersion.objects.get(plan=welcome, number=1)
    version.steps = []
    with pytest.raises(ValueError, match="immutable"):
        version.save()


def test_plan_status_rules(tenant, system_actor, welcome_steps):
    with pytest.raises(errors.ValidationError, match="publish it first"):
        make_plan(tenant, welcome_steps, key="early", publish=False, status="active")
    plan = make_plan(tenant, welcome_steps)
    with pytest.raises(errors.ValidationError, match="cannot go back to draft"):
        services.plan_update(tenant=tenant, actor=system_actor, instance=plan, data={"status": "draft"})
    services.plan_update(tenant=tenant, actor=system_actor, instance=plan, data={"status": "paused"})
    with pytest.raises(Conflict) as paused:
        operations.execute(plan, reachable_customers(tenant, 1)[0])
    assert paused.value.extra["current_status"] == "paused"
