-- Legal holds (rampart-retention's RetentionStore). Times are microseconds since the epoch; the
-- scope is JSON text, its subject copied out for the erasure check. A hold is released, never
-- deleted: the table is the record of every hold there was.
CREATE TABLE legal_holds (
    id          TEXT   PRIMARY KEY,
    name        TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    scope       TEXT   NOT NULL,
    subject_id  TEXT,
    created_at  BIGINT NOT NULL,
    created_by  TEXT   NOT NULL,
    released_at BIGINT,
    released_by TEXT
);
CREATE INDEX legal_holds_in_force ON legal_holds (created_at, id) WHERE released_at IS NULL;
CREATE TRIGGER legal_holds_no_delete BEFORE DELETE ON legal_holds
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER legal_holds_no_truncate BEFORE TRUNCATE ON legal_holds
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();
