"""The contact history view's SQL, shared by the migrations that (re)create it."""


def contact_history_view(*, excluded: tuple[str, ...]) -> str:
    """``decisionflows.Contact``: the ``ContactHistory`` table plus the recommendations of every
    run not in ``excluded`` statuses, contacted when the run started. The runs (tenant, status)
    lead, then the recommendations' (run, customer, rank) key, so "contacts of customers a..b
    since t" is an index range read per run."""
    statuses = ", ".join(f"'{status}'" for status in excluded)
    return f"""
CREATE VIEW contact_history_all AS
SELECT CAST(h.id AS TEXT) AS id, h.tenant_id, h.customer_id, h.offer_id, h.channel_id,
       h.source, h.source_id, h.contacted_at
FROM decisionflows_contacthistory h
UNION ALL
SELECT r.run_id || '/' || CAST(r.customer_id AS TEXT) || '/' || CAST(r.rank AS TEXT), u.tenant_id,
       r.customer_id, r.offer_id, r.channel_id, 'run', r.run_id, COALESCE(u.started_at, u.created_at)
FROM runs_run u
JOIN runs_recommendation r ON r.run_id = u.id
WHERE u.status NOT IN ({statuses})
"""  # noqa: S608  (statuses are this module's constants)
