"""``python -m tests.celery_worker -A config worker ...``: the Celery command, for tests/worker.py.

With ``TEST_CHUNK_DELAY`` (seconds) set, every chunk sleeps that long once claimed, before its
work: progress is visible between a page's polls, and a drill can kill the worker mid-chunk or
let the chunk's lease expire. Production code knows nothing of it.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable

import django


def _sleep_after(claim: Callable[..., int | None], delay: float) -> Callable[..., int | None]:
    @functools.wraps(claim)
    def slow_claim(*args: object, **kwargs: object) -> int | None:
        attempt = claim(*args, **kwargs)
        if attempt is not None:
            time.sleep(delay)
        return attempt

    return slow_claim


def main() -> None:
    delay = float(os.environ.get("TEST_CHUNK_DELAY") or 0)
    if delay:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()
        from runs.services import execution

        # run_chunk_process calls the module's _claim: the sleep comes where a slow chunk spends its lease.
        execution._claim = _sleep_after(execution._claim, delay)
    from celery.__main__ import main as celery

    celery()


if __name__ == "__main__":
    main()
