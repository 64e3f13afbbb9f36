-- Data subjects (rampart-subjects' SubjectStore). Times are microseconds since the epoch; lists
-- are JSON text. `lookup` is the keyed hash (HMAC-SHA256 under the sealed `subject_lookup_key`)
-- of a subject id: no table stores a subject id beside its key.

-- One AES-256-GCM key per subject, sealed by the KEK. Erasure destroys a key: its sealed bytes
-- and its lookup are removed (the row stays as the record of what existed); a destroyed key is
-- never changed again and no key is ever deleted.
CREATE TABLE subject_keys (
    id           TEXT   PRIMARY KEY,
    lookup       BYTEA,
    sealed_key   BYTEA,
    created_at   BIGINT NOT NULL,
    destroyed_at BIGINT,
    erasure_id   TEXT,
    CHECK ((destroyed_at IS NULL AND lookup IS NOT NULL AND sealed_key IS NOT NULL)
        OR (destroyed_at IS NOT NULL AND lookup IS NULL AND sealed_key IS NULL))
);
CREATE UNIQUE INDEX subject_keys_live ON subject_keys (lookup) WHERE destroyed_at IS NULL;
CREATE FUNCTION rampart_subject_keys_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'subject_keys are destroyed, never deleted';
    END IF;
    IF OLD.destroyed_at IS NOT NULL
       OR NEW.id IS DISTINCT FROM OLD.id OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR (NEW.destroyed_at IS NULL
           AND (NEW.lookup IS DISTINCT FROM OLD.lookup OR NEW.erasure_id IS NOT NULL)) THEN
        RAISE EXCEPTION 'a subject key is only resealed or destroyed';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER subject_keys_guard BEFORE UPDATE OR DELETE ON subject_keys
    FOR EACH ROW EXECUTE FUNCTION rampart_subject_keys_guard();
CREATE TRIGGER subject_keys_no_truncate BEFORE TRUNCATE ON subject_keys
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();

-- The consent ledger: append-only, except that erasure removes a record's personal fields
-- (lookup, subject_id, source) once, and nothing else.
CREATE TABLE consents (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lookup         BYTEA,
    subject_id     TEXT,
    purpose        TEXT    NOT NULL,
    given          BOOLEAN NOT NULL,
    source         TEXT,
    policy_version TEXT,
    recorded_at    BIGINT  NOT NULL,
    recorded_by    TEXT    NOT NULL,
    erased_at      BIGINT
);
CREATE INDEX consents_by_lookup ON consents (lookup, id) WHERE lookup IS NOT NULL;
CREATE INDEX consents_by_purpose ON consents (purpose, subject_id, id) WHERE subject_id IS NOT NULL;
CREATE FUNCTION rampart_consents_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'consents is append-only (DELETE refused)';
    END IF;
    IF OLD.erased_at IS NOT NULL OR NEW.erased_at IS NULL
       OR NEW.lookup IS NOT NULL OR NEW.subject_id IS NOT NULL OR NEW.source IS NOT NULL
       OR NEW.id IS DISTINCT FROM OLD.id OR NEW.purpose IS DISTINCT FROM OLD.purpose
       OR NEW.given IS DISTINCT FROM OLD.given
       OR NEW.policy_version IS DISTINCT FROM OLD.policy_version
       OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at
       OR NEW.recorded_by IS DISTINCT FROM OLD.recorded_by THEN
        RAISE EXCEPTION 'consents is append-only (erasure removes personal fields only)';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consents_guard BEFORE UPDATE OR DELETE ON consents
    FOR EACH ROW EXECUTE FUNCTION rampart_consents_guard();
CREATE TRIGGER consents_no_truncate BEFORE TRUNCATE ON consents
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();

-- Erasures and the application stores' confirmations. `lookup` finds a subject's last erasure
-- (a second request answers the first).
CREATE TABLE erasures (
    id                TEXT   PRIMARY KEY,
    lookup            BYTEA  NOT NULL,
    subject_id_sha256 TEXT   NOT NULL,
    reason            TEXT   NOT NULL,
    stores            TEXT   NOT NULL,
    requested_at      BIGINT NOT NULL,
    requested_by      TEXT   NOT NULL,
    completed_at      BIGINT,
    effects           TEXT   NOT NULL,
    subject_keys      TEXT   NOT NULL,
    checkpoint        TEXT   NOT NULL
);
CREATE INDEX erasures_by_lookup ON erasures (lookup, id);
CREATE TRIGGER erasures_no_delete BEFORE DELETE ON erasures
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER erasures_no_truncate BEFORE TRUNCATE ON erasures
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();
CREATE TABLE erasure_confirmations (
    erasure_id      TEXT   NOT NULL REFERENCES erasures (id),
    store           TEXT   NOT NULL,
    records_deleted BIGINT NOT NULL,
    confirmed_at    BIGINT NOT NULL,
    confirmed_by    TEXT   NOT NULL,
    PRIMARY KEY (erasure_id, store)
);
CREATE TRIGGER erasure_confirmations_append_only BEFORE UPDATE OR DELETE ON erasure_confirmations
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER erasure_confirmations_no_truncate BEFORE TRUNCATE ON erasure_confirmations
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();

-- Principals and card tokens the application links to a data subject.
ALTER TABLE principals ADD COLUMN subject_id TEXT;
CREATE INDEX principals_by_subject ON principals (subject_id) WHERE subject_id IS NOT NULL;
ALTER TABLE card_tokens ADD COLUMN subject_id TEXT;
CREATE INDEX card_tokens_by_subject ON card_tokens (subject_id) WHERE subject_id IS NOT NULL;
