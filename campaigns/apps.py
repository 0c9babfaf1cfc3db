from __future__ import annotations

from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        """Campaign runs hook into their Run's finish: volume constraints before the summary,
        files and deliveries after commit, and keep the outcome when a run is deleted (runs knows
        nothing of campaigns). The tasks are imported here so every process has them registered:
        deliveries enqueue ``campaigns.deliver_batch`` by name (campaigns.tasks imports them)."""
        from campaigns import constraints, services, tasks  # noqa: F401  (registers the tasks)
        from runs import hooks

        hooks.register(
            before=constraints.run_constraints_hook,
            after=services.campaign_run_after_finish,
            deleting=services.campaign_run_keep_outcome,
        )
