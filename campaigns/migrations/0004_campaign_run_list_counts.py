"""Exact list totals for ``campaigns_campaignrun`` from counters its triggers keep (kaireon/listcounts.py).
Creating the triggers locks out writers until the rows are counted, in this migration's transaction."""

from django.db import migrations

from kaireon.listcounts import CountRows


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_campaign_run_volume_constraints"),
        ("kaireon", "0003_list_counts"),
    ]

    operations = [CountRows("campaigns_campaignrun", scopes=["campaign_id"])]
