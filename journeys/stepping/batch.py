"""A batch of claimed runs walked through their steps, and what that writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from decisionflows.recommend import recommend_for_customer
from journeys import bulk, conditions, events
from journeys.models import ExecutionRun, ExecutionRunStatus, RunEvent
from journeys.sending import Verdict
from journeys.stepping.lookups import Lookups
from journeys.stepping.sends import Sender, Sent
from journeys.stepping.state import _NO_PLAN, RUN_FIELDS, RunState, Work, claim, compiled_plans
from kaireon.errors import DomainError
from segments.models import Customer


class Batch:
    """The runs of one claim and what processing them writes."""

    def __init__(self, runs: list[RunState], *, tick: int, now: dt.datetime) -> None:
        self.tick, self.now, self.stamp = tick, now, events.timestamp(now)
        plans = compiled_plans({run.version_id for run in runs})
        self.works = [Work(run, plans.get(run.version_id, _NO_PLAN)) for run in runs]
        self.lookups = Lookups(runs, now=now)
        self.sender = Sender(self.lookups, tick=tick, now=now)
        self.steps_executed = 0

    # --- bookkeeping ----------------------------------------------------------------------

    def event(self, work: Work, action: str, *, step: str | None = None, reason: str = "", **data: Any) -> None:
        work.events.append(
            events.row(
                work.run,
                tick=self.tick,
                action=action,
                now=self.now,
                stamp=self.stamp,
                step=step,
                reason=reason,
                data=data,
            )
        )

    def visit(self, work: Work) -> int:
        """Count one more entry into the run's current step; the send's idempotency key uses it."""
        run = work.run
        step_id = run.current_step or ""
        run.visits[step_id] = run.visits.get(step_id, 0) + 1
        self.steps_executed += 1
        return int(run.visits[step_id])

    def advance(self, work: Work, next_step: str) -> None:
        run = work.run
        run.steps_completed += 1
        run.current_step = next_step
        run.steps_remaining = work.plan.remaining.get(next_step, 0)

    def finish(self, work: Work, status: str, *, outcome: str | None = None, error: str = "") -> None:
        run = work.run
        run.status, run.outcome, run.error = status, outcome, error[:2000]
        run.completed_at, run.wake_tick = self.now, None
        run.current_step, run.steps_remaining = None, 0
        self.event(work, status, reason=error, **({"outcome": outcome} if outcome else {}))

    # --- the steps ------------------------------------------------------------------------

    def start(self, work: Work) -> None:
        run = work.run
        if run.status == ExecutionRunStatus.PENDING:
            run.status = ExecutionRunStatus.ACTIVE
            self.event(work, "started")
        elif run.status == ExecutionRunStatus.WAITING:
            step = work.plan.steps.get(run.current_step or "")
            run.status = ExecutionRunStatus.ACTIVE
            if step is None:
                return  # the step loop fails it
            self.event(work, "woke", step=step["id"], ticks=step["ticks"])
            self.advance(work, step["next"])

    def step_wait(self, work: Work, step: Mapping[str, Any]) -> None:
        self.visit(work)
        run = work.run
        run.status, run.wake_tick = ExecutionRunStatus.WAITING, self.tick + int(step["ticks"])
        self.event(work, "wait", step=step["id"], ticks=step["ticks"], wakeTick=run.wake_tick)

    def step_update(self, work: Work, step: Mapping[str, Any]) -> None:
        self.visit(work)
        work.run.variables.update(step["set"])
        self.event(work, "update", step=step["id"], set=step["set"])
        self.advance(work, step["next"])

    def step_branch(self, work: Work, step: Mapping[str, Any]) -> None:
        self.visit(work)
        run = work.run
        scope: dict[str, Any] = {"variables": run.variables, "outcome": run.last_result or {}, "customer": {}}
        if step["id"] in work.plan.customer_branches:
            scope["customer"] = self.lookups.customer(run) or {}
        matched, target = None, step["default"]
        for index, item in enumerate(step["conditions"]):
            if conditions.evaluate(item["condition"], scope):
                matched, target = index, item["next"]
                break
        self.event(work, "branch", step=step["id"], matched=matched, next=target)
        self.advance(work, target)

    def step_end(self, work: Work, step: Mapping[str, Any]) -> None:
        self.visit(work)
        outcome = step.get("outcome") or "completed"
        self.event(work, "end", step=step["id"], outcome=outcome)
        work.run.steps_completed += 1
        self.finish(work, ExecutionRunStatus.COMPLETED, outcome=outcome)

    def step_decide(self, work: Work, step: Mapping[str, Any]) -> None:
        self.visit(work)
        run = work.run
        flow = self.lookups.flow(run.tenant_id, step["decisionFlowId"])
        customer = Customer.objects.filter(pk=run.customer_id).first()
        if flow is None or customer is None:
            missing = "decision flow" if flow is None else "customer"
            self.finish(work, ExecutionRunStatus.FAILED, error=f"step {step['id']}: the {missing} no longer exists")
            return
        try:
            # a savepoint: an error inside the engine must not abort the batch's transaction
            with transaction.atomic():
                result = recommend_for_customer(tenant=self.lookups.tenant(run.tenant_id), flow=flow, customer=customer)
        except DomainError as exc:
            self.finish(work, ExecutionRunStatus.FAILED, error=f"step {step['id']}: {exc}")
            return
        best = result["recommendations"][0] if result["recommendations"] else None
        chosen = None
        if best is not None:
            chosen = {
                "offerId": best["offer_id"],
                "offerKey": best["offer_key"],
                "channelId": best["channel_id"],
                "creativeId": best["creative_id"],
                "score": best["score"],
            }
        run.variables[step["storeAs"]] = chosen
        run.last_result = {
            "status": "decided" if chosen else "no_offer",
            "step": step["id"],
            "offer_id": chosen and chosen["offerId"],
            "offer_key": chosen and chosen["offerKey"],
            "channel_id": chosen and chosen["channelId"],
            "creative_id": chosen and chosen["creativeId"],
            "score": chosen and chosen["score"],
        }
        self.event(work, "decide", step=step["id"], flowVersion=result["version"], chosen=chosen)
        self.advance(work, step["next"])

    def step_sends(self, works: list[Work]) -> None:
        """Every run of this wave at a send step, checked and written together (the sender)."""
        visits = [self.visit(w) for w in works]
        outcomes = self.sender.send(works, visits)
        for work, visit, outcome in zip(works, visits, outcomes, strict=True):
            step = work.plan.steps[work.run.current_step or ""]
            if isinstance(outcome, Sent):
                self._sent(work, step, outcome, visit)
            else:
                self._blocked(work, step, outcome)

    def _sent(self, work: Work, step: Mapping[str, Any], sent: Sent, visit: int) -> None:
        work.run.last_result = {
            "status": "sent",
            "step": step["id"],
            "offer_id": sent.offer_id,
            "channel_id": sent.channel_id,
            "creative_id": sent.creative_id,
        }
        extra = {"duplicate": True} if sent.duplicate else {}
        reason = "already delivered on an earlier attempt of this visit: not sent again" if sent.duplicate else ""
        self.event(
            work,
            "send",
            step=step["id"],
            reason=reason,
            offerId=sent.offer_id,
            channelId=sent.channel_id,
            creativeId=sent.creative_id,
            visit=visit,
            **extra,
        )
        self.advance(work, step["next"])

    def _blocked(self, work: Work, step: Mapping[str, Any], verdict: Verdict) -> None:
        run = work.run
        run.last_result = {"status": "blocked", "step": step["id"], "reason": verdict.reason}
        self.event(work, "send_blocked", step=step["id"], reason=verdict.message, code=verdict.reason, **verdict.data)
        if step.get("onBlocked"):
            self.advance(work, step["onBlocked"])
        else:
            run.steps_completed += 1
            self.finish(work, ExecutionRunStatus.COMPLETED, outcome="blocked")

    # --- the batch ------------------------------------------------------------------------

    def run(self) -> None:
        handlers: dict[str, Callable[[Work, Mapping[str, Any]], None]] = {
            "wait": self.step_wait,
            "update": self.step_update,
            "branch": self.step_branch,
            "end": self.step_end,
            "decide": self.step_decide,
        }
        for work in self.works:
            self.start(work)
        limit = int(settings.JOURNEYS_MAX_STEPS_PER_TICK)
        for _ in range(limit):
            live = [w for w in self.works if w.run.status == ExecutionRunStatus.ACTIVE]
            if not live:
                break
            sending: list[Work] = []
            for work in live:
                step = work.plan.steps.get(work.run.current_step or "")
                if step is None:
                    self.finish(
                        work, ExecutionRunStatus.FAILED, error=f"step {work.run.current_step!r} is not in the plan"
                    )
                elif step["type"] == "send":
                    sending.append(work)
                else:
                    handlers[step["type"]](work, step)
            if sending:
                self.step_sends(sending)
        for work in self.works:
            run = work.run
            run.current_tick = self.tick
            run.updated_at = self.now
            if run.status == ExecutionRunStatus.ACTIVE:
                # the step limit: carry on at the next tick
                run.wake_tick = self.tick + 1

    def write(self) -> None:
        bulk.insert(RunEvent, events.COLUMNS, [event for work in self.works for event in work.events])
        bulk.update(ExecutionRun, [work.run for work in self.works], RUN_FIELDS)


@dataclass(frozen=True)
class BatchResult:
    runs: int
    steps: int
    sends: int


def process_batch(*, tick: int, limit: int) -> BatchResult:
    """Claim, execute and write one batch in one transaction."""
    with transaction.atomic():
        runs = claim(tick=tick, limit=limit)
        if not runs:
            return BatchResult(0, 0, 0)
        batch = Batch(runs, tick=tick, now=timezone.now())
        batch.run()
        batch.write()
    return BatchResult(len(runs), batch.steps_executed, batch.sender.sent)
