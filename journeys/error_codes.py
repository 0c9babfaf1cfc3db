"""The journeys domain's error codes (``kaireon.errors``), where a caller may act on the kind.
Conflicts of enrolment say their kind in the body's ``reason`` as well (docs/api-contract.md §5)."""

from __future__ import annotations

from enum import StrEnum


class JourneyErrorCode(StrEnum):
    NOT_EXECUTABLE = "not_executable"
    INVALID_STEP = "invalid_step"
    SUPPRESSED = "suppressed"
    ALREADY_ENROLLED = "already_enrolled"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_KEY_RACE = "idempotency_key_race"
