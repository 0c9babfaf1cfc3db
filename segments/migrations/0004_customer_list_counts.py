"""Exact list totals for ``segments_customer`` from counters its triggers keep (kaireon/listcounts.py).
Creating the triggers locks out writers until the rows are counted, in this migration's transaction."""

from django.db import migrations

from kaireon.listcounts import CountRows


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0003_customer_tenant_no_single_index"),
        ("kaireon", "0003_list_counts"),
    ]

    operations = [CountRows("segments_customer")]
