-- Verifications of the stored log that found it intact: the tree size and root they reached,
-- when, and whether every entry was re-hashed (`full_check`) or only those after the previous
-- verification. POST /v1/audit/verify starts from the latest row. Append-only.
CREATE TABLE audit_verifications (
    id              BIGSERIAL PRIMARY KEY,
    tree_size       BIGINT    NOT NULL,
    root            BYTEA     NOT NULL,
    verified_at     BIGINT    NOT NULL,
    full_check      BOOLEAN   NOT NULL,
    checked_entries BIGINT    NOT NULL
);
CREATE INDEX audit_verifications_by_size ON audit_verifications (tree_size, id);

CREATE TRIGGER audit_verifications_append_only BEFORE UPDATE OR DELETE ON audit_verifications
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER audit_verifications_no_truncate BEFORE TRUNCATE ON audit_verifications
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_verifications FROM PUBLIC;
