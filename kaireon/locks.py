"""Row-lock policy, written once; each app declares its locks in its own ``locks.py``.

- A row that is changed but kept is locked FOR NO KEY UPDATE of its own table only
  (``for_update``): it waits for other writers of the row, never for (or blocks) inserts of rows
  that reference it, which take FOR KEY SHARE; ``of=("self",)`` keeps a ``select_related`` join
  (the tenant, say) unlocked, so the tenant row is locked only by the audit chain, last.
- A row about to be deleted is locked FOR UPDATE (``for_delete``): the DELETE needs that lock
  anyway, and taking it first waits for every user of the row instead of upgrading later.
- A work queue skips the rows another worker holds (``skip_locked``).
- Several rows of a table are locked in primary-key order; across tables the order is each
  app's (its ``locks.py`` says it), the tenant's audit chain always last.

SQLite ignores all of this: it has one writer at a time (IMMEDIATE transactions).
"""

from __future__ import annotations

from typing import TypeVar

from django.db import connection
from django.db.models import Model, QuerySet

from kaireon.models import Tenant

M = TypeVar("M", bound=Model)


def for_update(queryset: QuerySet[M]) -> QuerySet[M]:
    """``queryset`` locked FOR NO KEY UPDATE OF its own table."""
    return queryset.select_for_update(no_key=True, of=("self",))


def for_delete(queryset: QuerySet[M]) -> QuerySet[M]:
    """``queryset`` locked FOR UPDATE OF its own table: rows the transaction deletes."""
    return queryset.select_for_update(of=("self",))


def skip_locked(queryset: QuerySet[M]) -> QuerySet[M]:
    """``queryset`` as a work queue: FOR NO KEY UPDATE, skipping rows another worker holds."""
    if not connection.features.has_select_for_update_skip_locked:
        return queryset
    return queryset.select_for_update(skip_locked=True, no_key=True, of=("self",))


def tenant_for_update() -> QuerySet[Tenant]:
    """The tenant row, the lock of its audit hash chain (entries appended one at a time)."""
    return for_update(Tenant.objects.all())
