"""Every state change of the segments app: the customer schema, customers, imports, segments.

Each write service is its own transaction and records an audit entry in it. Segment views are
created, replaced and dropped inside that transaction (DDL is transactional on PostgreSQL and
SQLite alike), so a segment row and its view never disagree.
"""

from __future__ import annotations

from segments.services.customers import customer_create, customer_delete, customer_update
from segments.services.imports import (
    IMPORT_LEASE,
    ImportBusy,
    customer_import_create,
    customer_import_run,
    start_import_thread,
)
from segments.services.schema import customer_attribute_create, customer_attribute_delete, customer_attribute_update
from segments.services.segments import segment_create, segment_delete, segment_refresh, segment_update

__all__ = [
    "IMPORT_LEASE",
    "ImportBusy",
    "customer_attribute_create",
    "customer_attribute_delete",
    "customer_attribute_update",
    "customer_create",
    "customer_delete",
    "customer_import_create",
    "customer_import_run",
    "customer_update",
    "segment_create",
    "segment_delete",
    "segment_refresh",
    "segment_update",
    "start_import_thread",
]
