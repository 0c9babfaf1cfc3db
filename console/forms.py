"""Forms of the console's pages. The customer page's "recommend now" box checks shape (a flow
was chosen) and puts ``recommend_for_customer``'s errors next to the field they are about."""

from __future__ import annotations

from typing import Any

from django import forms

from decisionflows.models import Channel, DecisionFlow
from kaireon.forms import ServiceErrorsMixin
from kaireon.models import Tenant


class RecommendForm(ServiceErrorsMixin, forms.Form):
    """The customer page's "recommend now" box: a published flow and, optionally, a channel."""

    SERVICE_FIELDS = {"decision_flow_id": "decision_flow"}

    decision_flow = forms.ChoiceField(label="Decision flow")
    channel = forms.ChoiceField(label="Channel", required=False)

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flow_options: list[DecisionFlow] = list(DecisionFlow.objects.filter(tenant=tenant).order_by("name"))
        self.channel_options: list[Channel] = list(Channel.objects.filter(tenant=tenant).active().order_by("name"))
        self.fields["decision_flow"].choices = [("", "Choose a decision flow")] + [  # type: ignore[attr-defined]
            (f.pk, f.name) for f in self.flow_options
        ]
        self.fields["channel"].choices = [("", "Every active channel")] + [  # type: ignore[attr-defined]
            (c.pk, c.name) for c in self.channel_options
        ]
        if not self.is_bound:
            runnable = [f for f in self.flow_options if f.runnable]
            if runnable:
                self.initial.setdefault("decision_flow", runnable[0].pk)

    def selected_flow(self) -> DecisionFlow:
        chosen = self.cleaned_data["decision_flow"]
        return next(f for f in self.flow_options if f.pk == chosen)

    def selected_channel(self) -> str | None:
        return self.cleaned_data.get("channel") or None
