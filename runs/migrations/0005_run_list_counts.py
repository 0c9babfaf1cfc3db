"""Exact list totals for ``runs_run`` from counters its triggers keep (kaireon/listcounts.py).
Creating the triggers locks out writers until the rows are counted, in this migration's transaction."""

from django.db import migrations

from kaireon.listcounts import CountRows


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0004_chunk_ids_bytes_breakdown"),
        ("kaireon", "0003_list_counts"),
    ]

    operations = [CountRows("runs_run", status="status", scopes=["decision_flow_id", "segment_id"])]
