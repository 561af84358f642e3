"""Full-text indexes of articles, case subjects and messages (docs/decisions/0009-search.md).

PostgreSQL: expression GIN indexes, built CONCURRENTLY (so the migration is not atomic and
intake keeps writing meanwhile). SQLite: FTS5 tables kept by triggers, filled from what is
there. The SQL lives in ``pomogu.kb.schema`` because ``ensure_sqlite_index`` (after every
``migrate``) restores the same triggers when an ALTER of a table on SQLite dropped them.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from pomogu.kb import schema

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            schema.create_pg_indexes(cursor)
        elif connection.vendor == "sqlite":
            schema.create_sqlite_index(cursor)


def backwards(apps, schema_editor):
    from pomogu.kb import schema

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            schema.drop_pg_indexes(cursor)
        elif connection.vendor == "sqlite":
            schema.drop_sqlite_index(cursor)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("kb", "0001_add_articles"),
        ("cases", "0007_team_queue_order"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
