"""PostgreSQL refuses to rewrite an issued invoice, a credit note or their lines.

The models already refuse; these triggers also stop raw SQL and
`QuerySet.update()`. Only the settlement columns of an invoice (state, amounts
paid and credited) may move after issue. Violations raise SQLSTATE 23000
(integrity_constraint_violation), which Django reports as an IntegrityError.
"""

from django.db import migrations

INVOICE_SETTLEMENT_COLUMNS = "ARRAY['state', 'amount_paid', 'amount_credited', 'paid_at', 'updated_at']"

FORWARD = f"""
CREATE OR REPLACE FUNCTION billing_guard_invoice() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.state <> 'draft' THEN
            RAISE EXCEPTION 'issued invoice % cannot be deleted', OLD.number
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.state <> 'draft' AND NEW.state = 'draft' THEN
        RAISE EXCEPTION 'issued invoice % cannot return to draft', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.state <> 'draft'
       AND (to_jsonb(NEW) - {INVOICE_SETTLEMENT_COLUMNS})
           IS DISTINCT FROM (to_jsonb(OLD) - {INVOICE_SETTLEMENT_COLUMNS}) THEN
        RAISE EXCEPTION 'issued invoice % cannot be changed', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_immutable
    BEFORE UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_guard_invoice();

CREATE OR REPLACE FUNCTION billing_guard_invoice_line() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
        SELECT 1 FROM billing_invoice WHERE id = OLD.invoice_id AND state <> 'draft'
    ) THEN
        RAISE EXCEPTION 'lines of issued invoice % cannot change', OLD.invoice_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (
        SELECT 1 FROM billing_invoice WHERE id = NEW.invoice_id AND state <> 'draft'
    ) THEN
        RAISE EXCEPTION 'lines of issued invoice % cannot change', NEW.invoice_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION billing_guard_invoice_line();

CREATE OR REPLACE FUNCTION billing_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are legal records and cannot be changed', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_creditnote_immutable
    BEFORE UPDATE OR DELETE ON billing_creditnote
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_change();

CREATE TRIGGER billing_creditnoteline_immutable
    BEFORE UPDATE OR DELETE ON billing_creditnoteline
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS billing_creditnoteline_immutable ON billing_creditnoteline;
DROP TRIGGER IF EXISTS billing_creditnote_immutable ON billing_creditnote;
DROP FUNCTION IF EXISTS billing_refuse_change();
DROP TRIGGER IF EXISTS billing_invoiceline_immutable ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_guard_invoice_line();
DROP TRIGGER IF EXISTS billing_invoice_immutable ON billing_invoice;
DROP FUNCTION IF EXISTS billing_guard_invoice();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_catalogue_and_documents")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
