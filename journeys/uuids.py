"""UUIDs as text, made without ``uuid.UUID`` objects: bulk enrolment makes two per run (the run's
id and the contact's profileId), and for 100,000 runs the objects alone cost ~3 s.

Run ids are version 7 (RFC 9562: 48 bits of Unix milliseconds, then random bits), so new runs
append to the end of the primary-key index and of the events' (run, seq) index instead of
landing on random pages; the pattern of docs/api-contract.md §5.3 allows versions 1-8. profileIds are version 5
(``uuid.uuid5``). tests/journeys/test_public.py checks both against the uuid module.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid

# The pattern of docs/api-contract.md §5.3 for runId, journeyId and profileId: the canonical
# 8-4-4-4-12 text with version 1-8 and the RFC variant (8, 9, a, b), or the nil and max UUIDs.
PUBLIC_UUID_PATTERN = (
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
    r"|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$"
)
_PUBLIC_UUID = re.compile(PUBLIC_UUID_PATTERN)


def is_public_uuid(value: str) -> bool:
    """Whether ``value`` matches the pattern of docs/api-contract.md §5.3 (uuid.UUID alone also
    reads braces, urn:uuid:, no hyphens, and any version or variant)."""
    return _PUBLIC_UUID.fullmatch(value) is not None  # fullmatch: "$" alone lets a trailing newline through


def _text(raw: bytes, version: int) -> str:
    """16 bytes as an RFC 4122 UUID of ``version``, in the canonical 8-4-4-4-12 text."""
    h = raw.hex()
    variant = "89ab"[int(h[16], 16) & 0x3]
    return f"{h[:8]}-{h[8:12]}-{version}{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def time_ordered_uuids(count: int) -> list[str]:
    """``count`` version 7 UUIDs of this millisecond, in random order within it."""
    stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    raw = os.urandom(10 * count)
    return [_text(stamp + raw[i : i + 10], 7) for i in range(0, 10 * count, 10)]


def uuid7() -> uuid.UUID:
    """One version 7 UUID (the default id of a run created on its own)."""
    return uuid.UUID(time_ordered_uuids(1)[0])


def name_uuid(namespace: uuid.UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))``."""
    return _text(hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()[:16], 5)
