"""Publishing to the broker, and what a caller does when it is down.

Every ``.delay()`` / ``.apply_async()`` that must not fail its caller when Redis is unreachable
goes through ``send``: the caller says what happens instead (the reaper sends it later, the
work runs in this process), and the one log line says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What a publish raises when the broker cannot take the message: kombu's OperationalError once
# its retries (CELERY_BROKER_TRANSPORT_OPTIONS) are spent, the socket's OSError before kombu wraps it.
BROKER_DOWN: tuple[type[Exception], ...] = (OperationalError, OSError)


def send(publish: Callable[[], object], *, instead: str, fallback: Callable[[Exception], object] | None = None) -> bool:
    """Call ``publish``; True when the broker took the message. With the broker down, log that
    ``instead`` happens, call ``fallback`` with the error (none: the reaper sends it later) and
    return False."""
    try:
        publish()
    except BROKER_DOWN as exc:
        logger.warning("broker unavailable (%s): %s", exc, instead)
        if fallback is not None:
            fallback(exc)
        return False
    return True
