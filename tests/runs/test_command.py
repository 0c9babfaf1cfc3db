from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from runs.models import Run

pytestmark = pytest.mark.django_db


def test_run_flow_inline_prints_progress_and_summary(catalogue):
    out = StringIO()
    call_command("run_flow", "--tenant", "acme", "--flow", "nba", "--segment", "All customers", "--inline", stdout=out)
    text = out.getvalue()
    run = Run.objects.get()
    assert run.status == "completed"
    assert run.execution_mode == "command"
    assert "100.0% 60/60" in text
    assert "Status: completed" in text
    assert f"recommendations: {run.recommendation_count}" in text
    assert "Gold Card" in text
    assert "Email" in text


def test_run_flow_names_what_is_missing(catalogue):
    with pytest.raises(CommandError, match="No segment named 'Nobody'"):
        call_command("run_flow", "--tenant", "acme", "--flow", "nba", "--segment", "Nobody", "--inline")
    with pytest.raises(CommandError, match="No decision flow with key 'x'"):
        call_command("run_flow", "--tenant", "acme", "--flow", "x", "--segment", "All customers", "--inline")
