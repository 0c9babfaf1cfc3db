"""The order a plan's steps are drawn in: topological from the first step, the main path top to
bottom. Pure, and tolerant of drafts (steps not checked yet), which the plan pages draw too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from journeys.plans import successors, topological_order


def ordered(steps: list[Any]) -> list[tuple[int, Mapping[str, Any], bool]]:
    """(index in the plan, step, reachable) in topological order from the first step: a
    depth-first walk whose reverse post-order follows each step's first successor first (the
    main path reads top to bottom); edges back into the walk (loops through a wait) are skipped.
    Steps the first cannot reach come last, in list order."""
    valid = [(i, s) for i, s in enumerate(steps) if isinstance(s, Mapping) and isinstance(s.get("id"), str)]
    by_id: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for i, step in valid:
        by_id.setdefault(step["id"], (i, step))
    if not valid:
        return [(i, s if isinstance(s, Mapping) else {}, False) for i, s in enumerate(steps)]
    drawn: list[str] = []
    if steps[0] is valid[0][1]:
        # successors reversed: the walk then finishes the first one last, so it comes out first
        edges = {node: [t for t in successors(step) if t in by_id][::-1] for node, (_, step) in by_id.items()}
        drawn = topological_order(edges, [valid[0][1]["id"]])
    order = [(by_id[node][0], by_id[node][1], True) for node in drawn]
    placed = {by_id[node][0] for node in drawn}
    order += [(i, s if isinstance(s, Mapping) else {}, False) for i, s in enumerate(steps) if i not in placed]
    return order
