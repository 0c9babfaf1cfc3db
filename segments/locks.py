"""Row locks on segments, in one place (house style: saleor's lock_objects.py).

- ``segment_lock_in_use``: a run being created or a journey enrolling reads the segment and must
  not lose it before its transaction ends: FOR KEY SHARE, which only a delete waits for.
- updating and refreshing a segment: FOR NO KEY UPDATE (``select_for_update(no_key=True)``),
  which leaves those users alone;
- deleting: FOR UPDATE, which waits for every user above.

SQLite has one writer at a time (IMMEDIATE transactions), so there a plain read is enough.
"""

from __future__ import annotations

from django.db import connection

from kaireon.models import Tenant
from segments.models import Segment


def segment_lock_in_use(*, tenant: Tenant, segment_id: str) -> Segment | None:
    """The tenant's segment, kept from being deleted until the caller's transaction ends."""
    rows = Segment.objects.filter(tenant=tenant, pk=segment_id)
    if connection.vendor != "postgresql":
        return rows.first()
    sql, params = rows.query.sql_with_params()
    # Django's select_for_update has no KEY SHARE; the statement is the queryset's own.
    return next(iter(Segment.objects.raw(f"{sql} FOR KEY SHARE", params)), None)
