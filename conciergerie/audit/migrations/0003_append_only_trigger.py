from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_accesslog_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_accesslog is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Access log rows are never changed or deleted.';
END
$$;
CREATE TRIGGER audit_accesslog_append_only
    BEFORE UPDATE OR DELETE ON audit_accesslog
    FOR EACH ROW EXECUTE FUNCTION audit_accesslog_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_accesslog_append_only ON audit_accesslog;
DROP FUNCTION IF EXISTS audit_accesslog_refuse_change();
"""


class Migration(migrations.Migration):
    """The database itself refuses to change or delete access log rows.

    TRUNCATE stays possible for the table's owner: it is what test suites and a
    full re-installation use, and it is not reachable from the application.
    """

    dependencies = [("audit", "0002_accesslog")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
