"""journeys.Delivery is now journeys.Send (one Delivery in the product: campaigns'). The table
becomes journeys_send; columns, the unique (run, step, visit) constraint and its name stay."""

from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0001_initial"),
    ]

    operations = [
        migrations.RenameModel(old_name="Delivery", new_name="Send"),
        migrations.AlterModelOptions(name="send", options={"ordering": ["run", "id"]}),
        migrations.AlterField(
            model_name="send",
            name="run",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="sends",
                to="journeys.executionrun",
            ),
        ),
    ]
