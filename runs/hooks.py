"""What other apps add to a run's finish, without runs importing them (campaigns registers
here in its AppConfig.ready).

``before_summary`` hooks run inside ``run_finalize``'s transaction, with the run row locked,
before the summary is computed; each may change the run's rows and returns entries to merge
into the summary. ``after_finish`` hooks run after that transaction commits, with the run id;
they enqueue work (files, deliveries) and must not raise. ``before_delete`` hooks run inside
``run_delete``'s transaction, with the run row locked, before the run and its rows go.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runs.models import Run

logger = logging.getLogger(__name__)

BeforeSummary = Callable[["Run"], dict[str, Any]]
AfterFinish = Callable[[str], None]
BeforeDelete = Callable[["Run"], None]

before_summary: list[BeforeSummary] = []
after_finish: list[AfterFinish] = []
before_delete: list[BeforeDelete] = []


def register(
    *, before: BeforeSummary | None = None, after: AfterFinish | None = None, deleting: BeforeDelete | None = None
) -> None:
    """Add hooks once (AppConfig.ready may run more than once in tests)."""
    if deleting is not None and deleting not in before_delete:
        before_delete.append(deleting)
    if before is not None and before not in before_summary:
        before_summary.append(before)
    if after is not None and after not in after_finish:
        after_finish.append(after)


def run_before_summary(run: Run) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for hook in before_summary:
        extra.update(hook(run))
    return extra


def run_after_finish(run_id: str) -> None:
    for hook in after_finish:
        try:
            hook(run_id)
        except Exception:  # a broken follow-up must not undo or hide the finished run
            logger.exception("after-finish hook %s failed for run %s", getattr(hook, "__name__", hook), run_id)


def run_before_delete(run: Run) -> None:
    for hook in before_delete:
        hook(run)
