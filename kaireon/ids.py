"""Public ids: a type prefix and a time-ordered random part, e.g. ``run_01jd3x9k2m4q8r7t6v5w4x3y2z``.

The random part is a ULID in lowercase Crockford base32 (48 bits of milliseconds, 80 random
bits), so ids sort by creation time, which keeps keyset pagination and B-tree inserts cheap.
"""

from __future__ import annotations

import os
import time

from django.utils.deconstruct import deconstructible

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def ulid() -> str:
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    return f"{prefix}_{ulid()}"


@deconstructible
class PublicId:
    """A model-field default that makes ids with one prefix (serialisable in migrations)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self) -> str:
        return new_id(self.prefix)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicId) and other.prefix == self.prefix

    def __hash__(self) -> int:
        return hash(self.prefix)
