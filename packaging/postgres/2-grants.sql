-- After `rampart init` (and after every `rampart migrate` that adds tables), as the owner or a
-- superuser:
--   psql -v ON_ERROR_STOP=1 -d rampart -f packaging/postgres/2-grants.sql
-- The runtime role reads and writes what it serves, but cannot rewrite evidence: the audit log,
-- its checkpoints, compliance reports and control history, disposal certificates (the triggers
-- refuse such changes too; without the grant, even a role that could drop a trigger cannot).
-- Pruning under retention goes through rampart_prune_audit_entries, owned by the schema owner.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rampart_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO rampart_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries, audit_checkpoints, compliance_reports,
    compliance_control_history, retention_certificates FROM rampart_app;
