"""The campaigns domain's error codes (``kaireon.errors``), where a caller may act on the kind."""

from __future__ import annotations

from enum import StrEnum


class CampaignErrorCode(StrEnum):
    ARCHIVED = "archived"
    RUN_BUSY = "run_busy"
    NOTHING_TO_RETRY = "nothing_to_retry"
    WORK_ITEM_NOT_PENDING = "work_item_not_pending"
