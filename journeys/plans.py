"""A plan's steps: their shapes, the publish-time graph checks, and the graph facts
journeys.stepping uses. Pure: no database (the caller passes what the tenant's catalogue holds).

Steps are a list; the first one is where every run starts. Keys are camelCase, as in the API::

    {"id": "hello", "type": "send", "channelId": "ch_…", "offerId": "off_…", "creativeId": "cr_…",
     "next": "pause", "onBlocked": "bye"}
    {"id": "hello2", "type": "send", "offerFrom": "nba", "next": "…"}   # the offer a decide step stored
    {"id": "nba", "type": "decide", "decisionFlowId": "df_…", "storeAs": "nba", "next": "…"}
    {"id": "pause", "type": "wait", "ticks": 3, "next": "…"}           # or {"duration": 3600} seconds
    {"id": "check", "type": "branch", "conditions": [{"condition": {…}, "next": "…"}], "default": "…"}
    {"id": "mark", "type": "update", "set": {"stage": "warm"}, "next": "…"}
    {"id": "bye", "type": "end", "outcome": "converted"}

Branch conditions are kaireon.rules conditions over ``variables.<name>[.<key>…]``,
``customer.<field>`` and ``outcome.<field>`` (journeys.conditions). Every error names its
step: ``steps[3] (id "check"): branch has no default``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from journeys.conditions import validate_condition
from kaireon import rules
from kaireon.rules import FieldSpec

STEP_TYPES = ("send", "decide", "wait", "branch", "update", "end")
MAX_STEPS = 200
MAX_WAIT_TICKS = 10_000_000
_STEP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

# Keys each step type may carry besides id, type, name.
_KEYS: dict[str, set[str]] = {
    "send": {"channelId", "offerId", "creativeId", "offerFrom", "next", "onBlocked"},
    "decide": {"decisionFlowId", "storeAs", "next"},
    "wait": {"ticks", "duration", "next"},
    "branch": {"conditions", "default"},
    "update": {"set", "next"},
    "end": {"outcome"},
}


@dataclass(frozen=True)
class Catalogue:
    """What the tenant has, for reference checks. ``creatives`` maps id → (offer id, channel id);
    ``customer_fields`` are the customer's rule fields without the ``customer.`` prefix."""

    channels: frozenset[str] = frozenset()
    offers: frozenset[str] = frozenset()
    creatives: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    flows: frozenset[str] = frozenset()
    customer_fields: Mapping[str, FieldSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class Place:
    """Where in the steps a problem is: ``index`` of the step (None: the list as a whole), and
    how messages name it (``steps[3] (id "check")``)."""

    index: int | None
    label: str = "steps"

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Problem:
    """One reason the steps do not publish; as text, its place first: ``steps[3] (id "check"):
    branch has no default``."""

    place: Place
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"


class PlanError(ValueError):
    """The steps do not make a publishable plan; ``problems`` lists every problem found,
    ``errors`` the same as text."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self.errors = [str(problem) for problem in problems]
        super().__init__("; ".join(self.errors))


def _where(index: int, step: Any) -> Place:
    step_id = step.get("id") if isinstance(step, Mapping) else None
    return Place(index, f'steps[{index}] (id "{step_id}")' if isinstance(step_id, str) else f"steps[{index}]")


@dataclass(frozen=True)
class Transition:
    """One way out of a step: ``via`` a branch ``condition`` (which it carries), the branch's
    ``default``, ``next`` or ``onBlocked``."""

    via: str
    target: str
    condition: Any = None


def transitions(step: Mapping[str, Any]) -> list[Transition]:
    """The ways out of a step, in order (branch conditions, then default; next, then onBlocked).
    Anything that is not a step id is left out, so drafts (not checked yet) have them too."""
    if step.get("type") == "branch":
        items = step.get("conditions")
        out = [
            Transition("condition", item["next"], item.get("condition"))
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, Mapping) and isinstance(item.get("next"), str)
        ]
        if isinstance(step.get("default"), str):
            out.append(Transition("default", step["default"]))
        return out
    return [Transition(key, step[key]) for key in ("next", "onBlocked") if isinstance(step.get(key), str)]


def successors(step: Mapping[str, Any]) -> list[str]:
    """The steps a step may lead to, in order (branch conditions, then default; next, then onBlocked)."""
    return [transition.target for transition in transitions(step)]


# --- one step ------------------------------------------------------------------------------


def _text(
    step: Mapping[str, Any], key: str, errors: list[Problem], where: Place, *, required: bool = True
) -> str | None:
    value = step.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        errors.append(Problem(where, f"{step.get('type')} needs {key} (a non-empty string)"))
        return None
    return value


def _check_send(step: dict[str, Any], catalogue: Catalogue | None, errors: list[Problem], where: Place) -> None:
    offer_from = step.get("offerFrom")
    if offer_from is not None:
        if not isinstance(offer_from, str) or not _VARIABLE.match(offer_from):
            errors.append(Problem(where, "offerFrom must name the variable a decide step stored its offer in"))
        if step.get("offerId") is not None or step.get("channelId") is not None or step.get("creativeId") is not None:
            errors.append(Problem(where, "give either offerFrom or offerId and channelId, not both"))
        return
    channel = _text(step, "channelId", errors, where)
    offer = _text(step, "offerId", errors, where)
    creative = _text(step, "creativeId", errors, where, required=False)
    if catalogue is None:
        return
    if channel is not None and channel not in catalogue.channels:
        errors.append(Problem(where, f'unknown channel "{channel}"'))
    if offer is not None and offer not in catalogue.offers:
        errors.append(Problem(where, f'unknown offer "{offer}"'))
    if creative is not None:
        owner = catalogue.creatives.get(creative)
        if owner is None:
            errors.append(Problem(where, f'unknown creative "{creative}"'))
        elif owner != (offer, channel):
            errors.append(Problem(where, f'creative "{creative}" is not the offer\'s creative on that channel'))


def _check_wait(step: dict[str, Any], errors: list[Problem], where: Place, tick_seconds: float) -> None:
    ticks, duration = step.get("ticks"), step.get("duration")
    if (ticks is None) == (duration is None):
        errors.append(Problem(where, "wait needs ticks or duration (seconds), exactly one"))
        return
    if ticks is not None:
        if isinstance(ticks, bool) or not isinstance(ticks, int) or not 1 <= ticks <= MAX_WAIT_TICKS:
            errors.append(Problem(where, f"ticks must be an integer from 1 to {MAX_WAIT_TICKS:,}"))
        return
    longest = MAX_WAIT_TICKS * tick_seconds
    # bounded before dividing: an integer like 10**400 cannot become a float (OverflowError)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not 0 < duration <= longest:
        errors.append(Problem(where, f"duration must be a number of seconds above 0 and at most {longest:,.0f}"))
        return
    # A wait lasts at least its duration: whole ticks, rounded up, at least one.
    step["ticks"] = max(1, math.ceil(duration / tick_seconds - 1e-9))
    if step["ticks"] > MAX_WAIT_TICKS:
        errors.append(Problem(where, f"duration is more than {MAX_WAIT_TICKS} ticks"))


def _check_branch(step: dict[str, Any], catalogue: Catalogue | None, errors: list[Problem], where: Place) -> None:
    conditions = step.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        errors.append(Problem(where, "branch needs conditions (a non-empty list of {condition, next})"))
        conditions = []
    normalised = []
    for i, item in enumerate(conditions):
        if not isinstance(item, Mapping) or set(item) - {"condition", "next"}:
            errors.append(Problem(where, f"conditions[{i}] must be an object with condition and next"))
            continue
        if not isinstance(item.get("next"), str) or not item["next"]:
            errors.append(Problem(where, f"conditions[{i}] has no next"))
        try:
            condition = validate_condition(
                item.get("condition"), catalogue.customer_fields if catalogue else None, f"conditions[{i}].condition"
            )
        except rules.RuleError as exc:
            errors.append(Problem(where, f"{exc}"))
            continue
        normalised.append({"condition": condition, "next": item.get("next")})
    if len(normalised) == len(conditions):
        step["conditions"] = normalised
    if "default" not in step or step["default"] in (None, ""):
        errors.append(Problem(where, "branch has no default"))
    elif not isinstance(step["default"], str):
        errors.append(Problem(where, "default must be a step id"))


def _check_step(
    index: int, step: Any, catalogue: Catalogue | None, tick_seconds: float, errors: list[Problem]
) -> dict[str, Any] | None:
    where = _where(index, step)
    if not isinstance(step, Mapping):
        errors.append(Problem(where, "a step is an object with id and type"))
        return None
    out = dict(step)
    step_id, kind = out.get("id"), out.get("type")
    if not isinstance(step_id, str) or not _STEP_ID.match(step_id):
        errors.append(Problem(where, "id must be 1-64 letters, digits, '_', '-' or '.'"))
    if kind not in STEP_TYPES:
        errors.append(Problem(where, f"unknown step type {kind!r}; use one of {', '.join(STEP_TYPES)}"))
        return out
    unknown = set(out) - {"id", "type", "name"} - _KEYS[kind]
    if unknown:
        errors.append(Problem(where, f"{kind} does not take {', '.join(sorted(unknown))}"))
    if kind not in ("branch", "end"):
        _text(out, "next", errors, where)
    if kind == "send":
        _check_send(out, catalogue, errors, where)
        _text(out, "onBlocked", errors, where, required=False)
    elif kind == "decide":
        flow = _text(out, "decisionFlowId", errors, where)
        if catalogue is not None and flow is not None and flow not in catalogue.flows:
            errors.append(Problem(where, f'unknown decision flow "{flow}"'))
        store = out.get("storeAs")
        if not isinstance(store, str) or not _VARIABLE.match(store):
            errors.append(Problem(where, "decide needs storeAs, a variable name (letters, digits, _)"))
    elif kind == "wait":
        _check_wait(out, errors, where, tick_seconds)
    elif kind == "branch":
        _check_branch(out, catalogue, errors, where)
    elif kind == "update":
        values = out.get("set")
        if not isinstance(values, Mapping) or not values:
            errors.append(Problem(where, "update needs set, an object of variable names and values"))
        else:
            bad = [name for name in values if not isinstance(name, str) or not _VARIABLE.match(name)]
            if bad:
                errors.append(Problem(where, f"not variable names: {', '.join(map(str, bad))}"))
    elif kind == "end":
        outcome = out.get("outcome")
        if outcome is not None and (not isinstance(outcome, str) or not 0 < len(outcome) <= 100):
            errors.append(Problem(where, "outcome must be a string of 1-100 characters"))
    return out


# --- the graph -----------------------------------------------------------------------------


def _strongly_connected(nodes: list[str], edges: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's components (iterative), each in discovery order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component[::-1])
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _reach(start: Iterable[str], edges: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(edges.get(node, []))
    return seen


def _graph_errors(steps: list[dict[str, Any]]) -> list[Problem]:
    position = {step["id"]: i for i, step in enumerate(steps)}
    edges = {step["id"]: [t for t in successors(step) if t in position] for step in steps}
    errors: list[Problem] = []
    reachable = _reach([steps[0]["id"]], edges)
    for i, step in enumerate(steps):
        if step["id"] not in reachable:
            errors.append(Problem(_where(i, step), "not reachable from the first step"))
    waitless = {node: [t for t in targets if steps[position[t]]["type"] != "wait"] for node, targets in edges.items()}
    nodes = [step["id"] for step in steps if step["type"] != "wait"]
    for component in _strongly_connected(nodes, waitless):
        if len(component) > 1 or component[0] in waitless[component[0]]:
            first = min(component, key=position.__getitem__)
            loop = " → ".join([*sorted(component, key=position.__getitem__), first])
            errors.append(Problem(_where(position[first], steps[position[first]]), f"cycle without a wait: {loop}"))
    reverse: dict[str, list[str]] = {step["id"]: [] for step in steps}
    for node, targets in edges.items():
        for target in targets:
            reverse[target].append(node)
    reaches_end = _reach([step["id"] for step in steps if step["type"] == "end"], reverse)
    for i, step in enumerate(steps):
        if step["id"] in reachable and step["id"] not in reaches_end:
            errors.append(Problem(_where(i, step), "no path from here reaches an end step"))
    return errors


def validate_steps(
    steps: Any, *, catalogue: Catalogue | None = None, tick_seconds: float = 10.0
) -> list[dict[str, Any]]:
    """The steps normalised for publishing (wait durations as ticks, conditions typed), or
    ``PlanError`` listing every problem, each naming its step."""
    if not isinstance(steps, list) or not steps:
        raise PlanError([Problem(Place(None), "a plan needs at least one step")])
    if len(steps) > MAX_STEPS:
        raise PlanError([Problem(Place(None), f"at most {MAX_STEPS} steps")])
    errors: list[Problem] = []
    out = [_check_step(i, step, catalogue, tick_seconds, errors) for i, step in enumerate(steps)]
    seen: dict[str, int] = {}
    for i, step in enumerate(out):
        step_id = step.get("id") if step else None
        if isinstance(step_id, str):
            if step_id in seen:
                errors.append(Problem(_where(i, step), f"duplicate id (also steps[{seen[step_id]}])"))
            seen.setdefault(step_id, i)
    for i, step in enumerate(out):
        if step is None:
            continue
        for target in successors(step):
            if target not in seen:
                errors.append(Problem(_where(i, step), f'next "{target}" is not a step of this plan'))
    if errors:
        raise PlanError(errors)
    normalised = [step for step in out if step is not None]
    errors = _graph_errors(normalised)
    if errors:
        raise PlanError(errors)
    return normalised


def remaining_steps(steps: list[dict[str, Any]]) -> dict[str, int]:
    """Step id → the number of steps on the longest path from it to an end, itself and the end
    included (a run at the first step of ``send → wait → end`` has 3 to go). Cycles (through
    waits) are counted once: edges back to a step already on the path from the first are cut."""
    position = {step["id"]: i for i, step in enumerate(steps)}
    edges = {step["id"]: [t for t in successors(step) if t in position] for step in steps}
    # DFS from the first step: an edge to a node on the current path is a back edge.
    forward: dict[str, list[str]] = {node: [] for node in edges}
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for root in [steps[0]["id"], *edges]:
        if root in state:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while work:
            node, child = work.pop()
            targets = edges[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if state.get(target) == 1:
                    continue
                forward[node].append(target)
                if target not in state:
                    state[target] = 1
                    work.append((target, 0))
            else:
                state[node] = 2
    longest: dict[str, int] = {}
    for node in topological_order(forward)[::-1]:
        longest[node] = 1 + max((longest[t] for t in forward[node]), default=0)
    return longest


def topological_order(edges: Mapping[str, list[str]], roots: Iterable[str] | None = None) -> list[str]:
    """The nodes reachable from ``roots`` (every node by default) in topological order: the reverse
    post-order of a depth-first walk that takes each node's targets in list order, skipping edges
    back into the walk (cycles)."""
    order: list[str] = []
    done: set[str] = set()
    for root in edges if roots is None else roots:
        if root in done:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        done.add(root)
        while work:
            node, child = work.pop()
            if child < len(edges[node]):
                work.append((node, child + 1))
                target = edges[node][child]
                if target not in done:
                    done.add(target)
                    work.append((target, 0))
            else:
                order.append(node)
    return order[::-1]
