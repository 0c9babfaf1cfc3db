"""The contact history as one view (``decisionflows.Contact``): the ``ContactHistory`` table plus
the recommendations of every run that was not cancelled, contacted when the run started.

It lives here because half of it is this app's tables. A recommendation row exists only once its
chunk is done (rows and chunk status commit together), so no chunk join is needed: the runs in
question (tenant, status, started since the look-back) lead, then the recommendations'
(run, customer, rank) key, so "contacts of customers a..b since t" is an index range read per run."""

from django.db import migrations

CREATE = """
CREATE VIEW contact_history_all AS
SELECT CAST(h.id AS TEXT) AS id, h.tenant_id, h.customer_id, h.offer_id, h.channel_id,
       h.source, h.source_id, h.contacted_at
FROM decisionflows_contacthistory h
UNION ALL
SELECT r.run_id || '/' || CAST(r.customer_id AS TEXT) || '/' || CAST(r.rank AS TEXT), u.tenant_id,
       r.customer_id, r.offer_id, r.channel_id, 'run', r.run_id, COALESCE(u.started_at, u.created_at)
FROM runs_run u
JOIN runs_recommendation r ON r.run_id = u.id
WHERE u.status <> 'cancelled'
"""


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0001_initial"),
        ("decisionflows", "0002_contact_view"),
    ]

    operations = [migrations.RunSQL(CREATE, reverse_sql="DROP VIEW IF EXISTS contact_history_all")]
