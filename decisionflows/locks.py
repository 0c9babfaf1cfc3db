"""Row locks on decision flows (the policy: ``kaireon.locks``).

The flow row alone serialises publishing, so two publishes never take the same version number.
"""

from __future__ import annotations

from django.db.models import QuerySet

from decisionflows.models import DecisionFlow
from kaireon.locks import for_update


def decision_flow_for_update() -> QuerySet[DecisionFlow]:
    """Decision flows locked while a version is published."""
    return for_update(DecisionFlow.objects.all())
