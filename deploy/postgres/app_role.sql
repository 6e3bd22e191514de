-- The role the web and worker processes log in with: it reads and writes the
-- application's tables but can only append to the audit log. Run it as the
-- owner of the database (the role that runs the migrations), once after the
-- first `migrate` and again after each release, since it is idempotent:
--
--   psql "$OWNER_DATABASE_URL" -v app_role=conciergerie_app -f deploy/postgres/app_role.sql
--
-- The role itself is created beforehand (`CREATE ROLE conciergerie_app LOGIN
-- PASSWORD '…'`), so that its password never sits in this repository.

GRANT USAGE ON SCHEMA public TO :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_role";
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO :"app_role";
-- Tables and sequences the owner creates in later migrations get the same rights.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"app_role";

-- The audit log is append-only: the application may add and read rows, never
-- change or remove them. The trigger audit_accesslog_append_only refuses the
-- same for every role, the owner included; this REVOKE also keeps the app role
-- from TRUNCATE, which row triggers do not see, and from disabling the trigger,
-- which only the table's owner may do.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_accesslog FROM :"app_role";
GRANT SELECT, INSERT ON audit_accesslog TO :"app_role";
