"""Bulk import of customers from CSV or JSON, streamed in batches.

``readers`` turn a text stream into records (line number + raw values), ``rows`` check a
record against the schema and give a ``CustomerRow`` or row errors, ``writers`` upsert a batch
(COPY + INSERT ... ON CONFLICT on PostgreSQL, ``bulk_create`` on SQLite), and ``pipeline`` runs
the loop. The job bookkeeping (status, progress, audit) is segments.services'.

Upsert semantics, per row: a field the row gives is written, a field it does not give keeps
its current value (a new customer gets the default). A CSV row gives every column of the header;
an empty cell writes "" to a text column, false to a flag, and removes an attribute. A JSON
object gives the keys it has; null works as an empty cell. Attributes merge by name.
"""
