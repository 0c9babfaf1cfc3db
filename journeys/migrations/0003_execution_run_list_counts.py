"""Exact list totals for ``journeys_executionrun`` from counters its triggers keep (kaireon/listcounts.py).
Creating the triggers locks out writers until the rows are counted, in this migration's transaction."""

from django.db import migrations

from kaireon.listcounts import CountRows


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0002_rename_delivery_send"),
        ("kaireon", "0003_list_counts"),
    ]

    operations = [CountRows("journeys_executionrun", status="status", scopes=["plan_id"])]
