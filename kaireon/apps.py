from __future__ import annotations

from django.apps import AppConfig


class KaireonConfig(AppConfig):
    name = "kaireon"
    verbose_name = "Kaireon: tenants, access and audit"

    def ready(self) -> None:
        from kaireon import schema  # noqa: F401  (registers the OpenAPI auth extension)
