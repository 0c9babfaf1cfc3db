"""The runs domain's error codes (``kaireon.errors``), where a caller may act on the kind."""

from __future__ import annotations

from enum import StrEnum


class RunErrorCode(StrEnum):
    FLOW_NOT_RUNNABLE = "flow_not_runnable"
    SEGMENT_WITHOUT_VIEW = "segment_without_view"
    CHANNELS_NOT_BATCH = "channels_not_batch"
    NO_BATCH_CHANNELS = "no_batch_channels"
    NOT_PENDING = "not_pending"
    ALREADY_FINISHED = "already_finished"
    NOT_FINISHED = "not_finished"
