"""Row locks on segments and customers (the policy: ``kaireon.locks``).

- ``segment_lock_in_use``: a run being created or a journey enrolling reads the segment and must
  not lose it before its transaction ends: FOR KEY SHARE, which only a delete waits for.
- updating and refreshing a segment: FOR NO KEY UPDATE (``segment_for_update``), which leaves
  those users alone;
- deleting: FOR UPDATE (``segment_for_delete``), which waits for every user above.

Order when deleting a segment: the segment, then the runs that name it, then the tenant's audit
chain last (see ``segment_delete``).

SQLite has one writer at a time (IMMEDIATE transactions), so there a plain read is enough.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from kaireon.locks import for_delete, for_update
from kaireon.models import Tenant
from segments.models import Customer, CustomerAttribute, Segment


def segment_lock_in_use(*, tenant: Tenant, segment_id: str) -> Segment | None:
    """The tenant's segment, kept from being deleted until the caller's transaction ends."""
    rows = Segment.objects.filter(tenant=tenant, pk=segment_id)
    if connection.vendor != "postgresql":
        return rows.first()
    sql, params = rows.query.sql_with_params()
    # Django's select_for_update has no KEY SHARE; the statement is the queryset's own.
    return next(iter(Segment.objects.raw(f"{sql} FOR KEY SHARE", params)), None)


def segment_for_update() -> QuerySet[Segment]:
    """Segments locked while their filters, view or count change."""
    return for_update(Segment.objects.all())


def segment_for_delete() -> QuerySet[Segment]:
    """Segments locked FOR UPDATE: the transaction deletes them."""
    return for_delete(Segment.objects.all())


def customer_for_update() -> QuerySet[Customer]:
    """Customers locked while their fields or attributes change."""
    return for_update(Customer.objects.all())


def customer_attribute_for_update() -> QuerySet[CustomerAttribute]:
    """Schema attributes locked while they change."""
    return for_update(CustomerAttribute.objects.all())
