"""Enrolling a segment that was deleted meanwhile is a clear 400, never a read of a dropped view."""

from __future__ import annotations

import pytest

from journeys import services
from journeys.models import ExecutionRun
from kaireon.errors import ValidationError
from segments import services as seg


def test_bulk_enrol_of_a_segment_deleted_meanwhile_is_refused(tenant, welcome, catalogue, system_actor):
    stale = catalogue.gold  # the page or API looked it up; then someone deleted it
    seg.segment_delete(tenant=tenant, actor=system_actor, instance=catalogue.gold)
    with pytest.raises(ValidationError) as refused:
        services.execution_run_bulk_execute(tenant=tenant, actor=system_actor, plan=welcome, segment=stale)
    assert refused.value.by_field() == {"segment_id": ["No such segment in this tenant."]}
    assert not ExecutionRun.objects.exists()
