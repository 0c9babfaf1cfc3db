"""Campaign runs keep the volume constraints they started with (backfilled from their campaign)."""

from django.db import migrations, models


def snapshot_constraints(apps, schema_editor):
    CampaignRun = apps.get_model("campaigns", "CampaignRun")
    for campaign_run in CampaignRun.objects.select_related("campaign").filter(run__isnull=False):
        campaign_run.volume_constraints = campaign_run.campaign.volume_constraints
        campaign_run.save(update_fields=["volume_constraints"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_files_deliveries"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaignrun",
            name="volume_constraints",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(snapshot_constraints, migrations.RunPython.noop),
    ]
