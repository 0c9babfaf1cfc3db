"""Plans and their versions: create, edit (a published version is never edited: the next
draft starts), publish (the graph checks of journeys.plans), delete."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from journeys import locks, plans, selectors
from journeys.error_codes import JourneyErrorCode
from journeys.models import Plan, PlanStatus, PlanVersion
from kaireon import errors
from kaireon.errors import Conflict, ValidationError
from kaireon.models import Tenant
from kaireon.services import Actor, audit_record, instance_delete, snapshot

Data = Mapping[str, Any]


def _steps_shape(value: Any) -> list[dict[str, Any]]:
    """A draft may be incomplete (publish checks the graph), but it is a list of step objects."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(step, Mapping) for step in value):
        raise ValidationError({"steps": "a list of step objects"})
    if len(value) > plans.MAX_STEPS:
        raise ValidationError({"steps": f"at most {plans.MAX_STEPS} steps"})
    return [dict(step) for step in value]


def _check(*, tenant: Tenant, plan: Plan | None, data: Data) -> None:
    key = data.get("key")
    if key is not None:
        clash = Plan.objects.filter(tenant=tenant, key=key)
        if plan is not None:
            clash = clash.exclude(pk=plan.pk)
        if clash.exists():
            raise ValidationError({"key": f"A journey with key {key!r} already exists."})
    status = data.get("status")
    published = plan is not None and plan.published_version is not None
    if status is not None and status != PlanStatus.DRAFT and not published:
        raise ValidationError({"status": f"A plan becomes {status} once it has a published version: publish it first."})
    if status == PlanStatus.DRAFT and published:
        raise ValidationError({"status": "A published plan cannot go back to draft; pause or archive it."})


@transaction.atomic
def plan_create(*, tenant: Tenant, actor: Actor, data: Data) -> Plan:
    """A plan with its first version, a draft holding ``steps`` (checked in full at publish)."""
    values = dict(data)
    steps = _steps_shape(values.pop("steps", None))
    _check(tenant=tenant, plan=None, data=values)
    plan = Plan(tenant=tenant, **values)
    plan.save(force_insert=True)
    PlanVersion.objects.create(tenant=tenant, plan=plan, number=1, steps=steps)
    audit_record(tenant=tenant, actor=actor, action="create", instance=plan, after={**snapshot(plan), "steps": steps})
    return plan


@transaction.atomic
def plan_update(*, tenant: Tenant, actor: Actor, instance: Plan, data: Data) -> Plan:
    """Edit a plan. New steps go into the draft; when the newest version is published they start
    the next version (a draft), so runs on published versions never see the change."""
    plan = locks.plan_for_update().get(pk=instance.pk, tenant=tenant)
    values = dict(data)
    given_steps = "steps" in values
    steps = _steps_shape(values.pop("steps", None))
    _check(tenant=tenant, plan=plan, data=values)
    before = snapshot(plan)
    for name, value in values.items():
        setattr(plan, name, value)
    changes: dict[str, Any] = {}
    if given_steps:
        draft = selectors.plan_draft(plan=plan)
        if steps != draft.steps:
            if draft.is_published:
                plan.latest_version = draft.number + 1
                PlanVersion.objects.create(tenant=tenant, plan=plan, number=plan.latest_version, steps=steps)
            else:
                PlanVersion.objects.filter(pk=draft.pk, published_at__isnull=True).update(
                    steps=steps, updated_at=timezone.now()
                )
            changes = {"steps": steps, "version": plan.latest_version}
    plan.save()
    after = snapshot(plan)
    changed_before = {k: v for k, v in before.items() if after.get(k) != v}
    changed_after = {**{k: after[k] for k in changed_before}, **changes}
    if changed_after:
        audit_record(
            tenant=tenant, actor=actor, action="update", instance=plan, before=changed_before, after=changed_after
        )
    return plan


@transaction.atomic
def plan_delete(*, tenant: Tenant, actor: Actor, instance: Plan) -> None:
    """Delete a plan and its versions; a plan that has runs is protected by them (409)."""
    instance_delete(tenant=tenant, actor=actor, instance=instance)


def _steps_invalid(exc: plans.PlanError) -> ValidationError:
    """Each problem reported under "steps" as its text (as the API always has), with the path of
    its step ("steps[3]") and the message without its place, for pages that show it by the step."""
    return ValidationError(
        [
            errors.FieldError(
                "steps",
                str(problem),
                JourneyErrorCode.INVALID_STEP,
                path="steps" if problem.place.index is None else f"steps[{problem.place.index}]",
                short=problem.message,
            )
            for problem in exc.problems
        ],
        code=JourneyErrorCode.INVALID_STEP,
    )


@transaction.atomic
def plan_publish(*, tenant: Tenant, actor: Actor, plan: Plan) -> PlanVersion:
    """Check the draft's graph (journeys.plans.validate_steps) against the tenant's catalogue and
    freeze it as a published version; new runs use it. The plan row is locked meanwhile."""
    locked = locks.plan_for_update().get(pk=plan.pk, tenant=tenant)
    if locked.status == PlanStatus.ARCHIVED:
        raise Conflict("An archived journey cannot be published.", current_status=locked.status)
    draft = selectors.plan_draft(plan=locked)
    if draft.is_published:
        raise Conflict(
            f"Version {draft.number} is already published; change the steps to start a new draft.",
            current_version=draft.number,
        )
    try:
        steps = plans.validate_steps(
            copy.deepcopy(draft.steps),
            catalogue=selectors.plan_catalogue(tenant=tenant),
            tick_seconds=float(settings.JOURNEYS_TICK_SECONDS),
        )
    except plans.PlanError as exc:
        raise _steps_invalid(exc) from None
    now = timezone.now()
    published_by = actor.actor_label if actor is not None else "system"
    remaining = plans.remaining_steps(steps)
    PlanVersion.objects.filter(pk=draft.pk, published_at__isnull=True).update(
        steps=steps, remaining=remaining, published_at=now, published_by=published_by, updated_at=now
    )
    status = PlanStatus.ACTIVE if locked.status == PlanStatus.DRAFT else locked.status
    Plan.objects.filter(pk=locked.pk).update(published_version=draft.number, status=status, updated_at=now)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="publish",
        instance=locked,
        before={"published_version": locked.published_version, "status": locked.status},
        after={"published_version": draft.number, "status": status, "version_id": draft.pk},
    )
    plan.published_version, plan.status = draft.number, status
    draft.refresh_from_db()
    return draft


def plan_draft_problems(*, tenant: Tenant, plan: Plan) -> list[str]:
    """What stands between the plan's draft and publishing it (each naming its step); empty
    when it would publish. Reads only: for the editor to warn at save time."""
    try:
        plans.validate_steps(
            copy.deepcopy(selectors.plan_draft(plan=plan).steps),
            catalogue=selectors.plan_catalogue(tenant=tenant),
            tick_seconds=float(settings.JOURNEYS_TICK_SECONDS),
        )
    except plans.PlanError as exc:
        return exc.errors
    return []
