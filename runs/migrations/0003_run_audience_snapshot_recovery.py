"""Runs freeze their audience (``segment_filters``, backfilled from each run's segment), count the
reaper's recovery attempts, and a failed run's rows leave the contact history as a cancelled
run's do: neither delivered anything."""

from django.db import migrations, models

from runs.migrations import _views

VIEW_WITHOUT_FAILED = _views.contact_history_view(excluded=("cancelled", "failed"))
VIEW_WITHOUT_CANCELLED = _views.contact_history_view(excluded=("cancelled",))


def snapshot_segment_filters(apps, schema_editor):
    Run = apps.get_model("runs", "Run")
    for run in Run.objects.filter(segment__isnull=False, filters__isnull=True).select_related("segment"):
        run.segment_filters = run.segment.filters
        run.save(update_fields=["segment_filters"])


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0002_contact_history_view"),
        ("segments", "0003_customer_tenant_no_single_index"),
    ]

    operations = [
        # SQLite rebuilds runs_run to add a column, which a view over it would block.
        migrations.RunSQL("DROP VIEW IF EXISTS contact_history_all", reverse_sql=VIEW_WITHOUT_CANCELLED),
        migrations.AddField(
            model_name="run",
            name="recovery_attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="run",
            name="segment_filters",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(snapshot_segment_filters, migrations.RunPython.noop),
        migrations.RunSQL(VIEW_WITHOUT_FAILED, reverse_sql="DROP VIEW IF EXISTS contact_history_all"),
    ]
