"""Content negotiation for endpoints whose ``?format=`` is their own parameter.

``?format=json`` picks the JSON renderer on every API endpoint (DRF's URL_FORMAT_OVERRIDE); the
run export's ``?format=csv|json`` names the file it streams instead, so there the renderer is
chosen by the Accept header alone.
"""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.settings import api_settings


class _WithoutFormatOverride:
    URL_FORMAT_OVERRIDE = None

    def __getattr__(self, name: str) -> Any:
        return getattr(api_settings, name)


class EndpointFormatNegotiation(DefaultContentNegotiation):
    # Not the stubs' settings type, but reads every other setting through to api_settings.
    settings = _WithoutFormatOverride()  # type: ignore[assignment]
