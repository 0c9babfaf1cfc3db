"""How the API spells names: snake_case in Python, camelCase in JSON (the renderer does whole
bodies; this is for the single names errors and files carry)."""

from __future__ import annotations

import re

_CAMEL = re.compile(r"_([a-z0-9])")


def camel(name: str) -> str:
    """``decision_flow_id`` → ``decisionFlowId``; a name without underscores is left as it is."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)
