"""Web pages of the campaigns app (server-rendered, htmx-enhanced); see runs/pages.py for the pattern."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "campaigns"

urlpatterns: list[URLPattern] = []
