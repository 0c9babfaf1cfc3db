from __future__ import annotations

from django.apps import AppConfig


class DecisionflowsConfig(AppConfig):
    name = "decisionflows"
