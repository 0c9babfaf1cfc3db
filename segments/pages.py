"""Web pages of the segments app (server-rendered, htmx-enhanced); see runs/pages.py for the pattern."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "segments"

urlpatterns: list[URLPattern] = []
