"""The template helpers every page uses: numbers, durations, badges, navigation."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from kaireon.templatetags import kaireon_ui as ui


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(12450, 0, "12,450"), (2.345, 2, "2.35"), (None, 0, "—"), ("", 0, "—"), (float("nan"), 0, "—"), (0, 0, "0")],
)
def test_number(value, decimals, expected):
    assert ui.number(value, decimals) == expected


@pytest.mark.parametrize(("value", "expected"), [(34.2, "34.2%"), (100.0, "100%"), (0, "0%"), (None, "—")])
def test_percent(value, expected):
    assert ui.percent(value) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.44, "0.4 s"),
        (42, "42 s"),
        (185, "3 min 05 s"),
        (7620, "2 h 07 min"),
        (3 * 86400 + 3600, "3 d 1 h"),
        (None, "—"),
    ],
)
def test_duration(seconds, expected):
    assert ui.duration(seconds) == expected


def test_rate_and_floor():
    assert ui.rate(2.0) == "2.0/s"
    assert ui.rate(1234.6) == "1,235/s"
    assert ui.rate(None) == "—"
    assert ui.floor_to(42.5, 10) == 40
    assert ui.floor_to(4.2, 10) == 0
    assert ui.floor_to(100.0, 10) == 100


def test_status_badge_has_a_tone_and_a_text_label():
    html = ui.status_badge("completed_with_errors")
    assert 'class="badge badge-warn status-completed_with_errors"' in html
    assert "Completed with errors" in html
    assert 'class="badge badge-neutral status-whatever"' in ui.status_badge("whatever")


def test_channel_type_labels():
    assert ui.channel_type("sms") == "SMS"
    assert ui.channel_type("in_app") == "In-app"
    assert ui.channel_type("carrier_pigeon") == "Carrier pigeon"


def test_ago():
    now = timezone.now()
    assert ui.ago(now) == "just now"
    assert ui.ago(now - timedelta(minutes=12)) == "12 min ago"
    assert ui.ago(now - timedelta(hours=3)) == "3 h ago"
    assert ui.ago(now - timedelta(days=2)) == "2 days ago"


def test_progress_of_a_run_stopped_before_counting_is_zero():
    assert ui.progress_of(SimpleNamespace(total_customers=0, status="failed", percent=100.0)) == 0.0
    assert ui.progress_of(SimpleNamespace(total_customers=0, status="completed", percent=100.0)) == 100.0
    assert ui.progress_of(SimpleNamespace(total_customers=10, status="running", percent=40.0)) == 40.0


def test_nav_link_shows_only_pages_that_exist_and_marks_the_current_one():
    template = Template('{% load kaireon_ui %}{% nav_link "/runs/" "Runs" %}{% nav_link "/nowhere-yet/" "Later" %}')
    html = template.render(Context({"request": RequestFactory().get("/runs/run_1/")}))
    assert html == '<a href="/runs/" class="nav-link is-active" aria-current="page">Runs</a>'
    assert ui.page_url("/runs/") == "/runs/"
    assert ui.page_url("/nowhere-yet/") == ""
