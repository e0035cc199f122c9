"""Saved methods by the gateway's id: a ``method_id`` column and its lookup (generated
by ``makemigrations``, then given the step that fills the new column of stored rows).

Every stored saved method gets its ``method_id`` (the vendor's id of the contact's
newest method, removed or not) copied out of its document, as the SQL store's
migration 0009 does, so a report that a method was removed without saying whose it was
finds the row in one lookup of ``pa_ix_saved_methods_method``.
"""

import json
from typing import Any

from django.db import migrations, models

__all__ = ["Migration"]


def fill_method_ids(apps: Any, schema_editor: Any) -> None:
    """Copy each stored saved method's id out of its document."""
    using = schema_editor.connection.alias
    methods = apps.get_model("portal_access", "SavedMethod").objects.using(using)
    for pk, doc in methods.values_list("pk", "doc").iterator():
        methods.filter(pk=pk).update(method_id=json.loads(doc)["method_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("portal_access", "0002_ledger_audit_summary_lease"),
    ]

    operations = [
        migrations.AddField(
            model_name="savedmethod",
            name="method_id",
            field=models.CharField(max_length=1024, null=True),
        ),
        migrations.RunPython(fill_method_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="savedmethod",
            name="method_id",
            field=models.CharField(max_length=1024),
        ),
        migrations.AddIndex(
            model_name="savedmethod",
            index=models.Index(
                fields=["gateway", "method_id", "contact_id"], name="pa_ix_saved_methods_method"
            ),
        ),
    ]
