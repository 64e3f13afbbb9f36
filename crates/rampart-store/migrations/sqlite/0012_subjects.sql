-- Data subjects (rampart-subjects' SubjectStore). Times are microseconds since the epoch; lists
-- are JSON text. `lookup` is the keyed hash (HMAC-SHA256 under the sealed `subject_lookup_key`)
-- of a subject id: no table stores a subject id beside its key.

-- One AES-256-GCM key per subject, sealed by the KEK. Erasure destroys a key: its sealed bytes
-- and its lookup are removed (the row stays as the record of what existed); a destroyed key is
-- never changed again and no key is ever deleted.
CREATE TABLE subject_keys (
    id           TEXT   PRIMARY KEY,
    lookup       BLOB,
    sealed_key   BLOB,
    created_at   BIGINT NOT NULL,
    destroyed_at BIGINT,
    erasure_id   TEXT,
    CHECK ((destroyed_at IS NULL AND lookup IS NOT NULL AND sealed_key IS NOT NULL)
        OR (destroyed_at IS NOT NULL AND lookup IS NULL AND sealed_key IS NULL))
);
CREATE UNIQUE INDEX subject_keys_live ON subject_keys (lookup) WHERE destroyed_at IS NULL;
CREATE TRIGGER subject_keys_no_delete BEFORE DELETE ON subject_keys
BEGIN SELECT RAISE(ABORT, 'subject_keys are destroyed, never deleted'); END;
CREATE TRIGGER subject_keys_destroyed_stay BEFORE UPDATE ON subject_keys
WHEN OLD.destroyed_at IS NOT NULL
  OR NEW.id IS NOT OLD.id OR NEW.created_at IS NOT OLD.created_at
  OR (NEW.destroyed_at IS NULL AND (NEW.lookup IS NOT OLD.lookup OR NEW.erasure_id IS NOT NULL))
BEGIN SELECT RAISE(ABORT, 'a subject key is only resealed or destroyed'); END;

-- The consent ledger: append-only, except that erasure removes a record's personal fields
-- (lookup, subject_id, source) once, and nothing else.
CREATE TABLE consents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    lookup         BLOB,
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
CREATE TRIGGER consents_no_delete BEFORE DELETE ON consents
BEGIN SELECT RAISE(ABORT, 'consents is append-only'); END;
CREATE TRIGGER consents_only_erased BEFORE UPDATE ON consents
WHEN OLD.erased_at IS NOT NULL OR NEW.erased_at IS NULL
  OR NEW.lookup IS NOT NULL OR NEW.subject_id IS NOT NULL OR NEW.source IS NOT NULL
  OR NEW.id IS NOT OLD.id OR NEW.purpose IS NOT OLD.purpose OR NEW.given IS NOT OLD.given
  OR NEW.policy_version IS NOT OLD.policy_version OR NEW.recorded_at IS NOT OLD.recorded_at
  OR NEW.recorded_by IS NOT OLD.recorded_by
BEGIN SELECT RAISE(ABORT, 'consents is append-only (erasure removes personal fields only)'); END;

-- Erasures and the application stores' confirmations. `lookup` finds a subject's last erasure
-- (a second request answers the first).
CREATE TABLE erasures (
    id                TEXT   PRIMARY KEY,
    lookup            BLOB   NOT NULL,
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
BEGIN SELECT RAISE(ABORT, 'erasures are kept'); END;
CREATE TABLE erasure_confirmations (
    erasure_id      TEXT   NOT NULL REFERENCES erasures (id),
    store           TEXT   NOT NULL,
    records_deleted BIGINT NOT NULL,
    confirmed_at    BIGINT NOT NULL,
    confirmed_by    TEXT   NOT NULL,
    PRIMARY KEY (erasure_id, store)
);
CREATE TRIGGER erasure_confirmations_append_only BEFORE UPDATE ON erasure_confirmations
BEGIN SELECT RAISE(ABORT, 'erasure_confirmations is append-only'); END;
CREATE TRIGGER erasure_confirmations_no_delete BEFORE DELETE ON erasure_confirmations
BEGIN SELECT RAISE(ABORT, 'erasure_confirmations is append-only'); END;

-- Principals and card tokens the application links to a data subject.
ALTER TABLE principals ADD COLUMN subject_id TEXT;
CREATE INDEX principals_by_subject ON principals (subject_id) WHERE subject_id IS NOT NULL;
ALTER TABLE card_tokens ADD COLUMN subject_id TEXT;
CREATE INDEX card_tokens_by_subject ON card_tokens (subject_id) WHERE subject_id IS NOT NULL;
