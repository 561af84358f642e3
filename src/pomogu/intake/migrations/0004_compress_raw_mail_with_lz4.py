"""PostgreSQL keeps the raw bytes of received mail compressed with lz4 instead of pglz.

Every message's bytes are compressed once, inside the transaction that answers its 250: pglz
took about 0.4 ms of the server's CPU for an average message of the intake benchmark
(20 KB), lz4 0.2 ms, for about the same size. Only new rows are affected; old ones stay as they
are and read the same. A server built without lz4 keeps pglz. SQLite stores the bytes as they
are and needs nothing.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        row = cursor.fetchone()
        if row is not None and row[0]:
            cursor.execute("ALTER TABLE intake_inboundmessage ALTER COLUMN raw SET COMPRESSION lz4")


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE intake_inboundmessage ALTER COLUMN raw SET COMPRESSION pglz")


class Migration(migrations.Migration):
    dependencies = [("intake", "0003_add_sender_for_the_loop_breaker")]

    operations = [migrations.RunPython(forwards, backwards)]
