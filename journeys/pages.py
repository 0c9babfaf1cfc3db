"""Web pages of the journeys app (server-rendered, htmx-enhanced); see runs/pages.py for the pattern."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "journeys"

urlpatterns: list[URLPattern] = []
