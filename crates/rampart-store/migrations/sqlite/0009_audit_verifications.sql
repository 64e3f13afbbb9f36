-- Verifications of the stored log that found it intact: the tree size and root they reached,
-- when, and whether every entry was re-hashed (`full_check`) or only those after the previous
-- verification. POST /v1/audit/verify starts from the latest row. Append-only.
CREATE TABLE audit_verifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tree_size       BIGINT  NOT NULL,
    root            BLOB    NOT NULL,
    verified_at     BIGINT  NOT NULL,
    full_check      BOOLEAN NOT NULL,
    checked_entries BIGINT  NOT NULL
);
CREATE INDEX audit_verifications_by_size ON audit_verifications (tree_size, id);

CREATE TRIGGER audit_verifications_no_update BEFORE UPDATE ON audit_verifications
BEGIN SELECT RAISE(ABORT, 'audit_verifications is append-only'); END;
CREATE TRIGGER audit_verifications_no_delete BEFORE DELETE ON audit_verifications
BEGIN SELECT RAISE(ABORT, 'audit_verifications is append-only'); END;
