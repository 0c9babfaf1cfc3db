"""On PostgreSQL the recommendations lose their (run, customer, rank) primary key for a BRIN index
on (run, customer).

The key cost a run's COPY more than the rows themselves: for 3M rows, 9.8 CPU-seconds of the
server against 4.9 with a BRIN index summarised after every chunk (the B-tree was half the table's
size, written row by row).
Nothing needs it for uniqueness: a chunk's rows commit with the chunk's ``done`` only while its
attempt owns it, and a retried attempt deletes what its range holds first. Rows are appended chunk
by chunk in customer order, so a block range of the BRIN index covers one run and a narrow band of
customers: reads by run and customer range (the results' pages, files, contact history) visit only
those blocks. SQLite keeps its key (its COPY is an executemany anyway).
"""

from django.db import migrations

INDEX = "runs_recommendation_run_customer_brin"


def to_brin(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE runs_recommendation DROP CONSTRAINT IF EXISTS runs_recommendation_pkey")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON runs_recommendation USING brin (run_id, customer_id) "
        "WITH (pages_per_range = 8, autosummarize = on)"
    )


def to_primary_key(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute(
        "ALTER TABLE runs_recommendation ADD CONSTRAINT runs_recommendation_pkey PRIMARY KEY (run_id, customer_id, rank)"
    )


class Migration(migrations.Migration):
    dependencies = [("runs", "0004_chunk_ids_bytes_breakdown")]

    operations = [migrations.RunPython(to_brin, to_primary_key)]
