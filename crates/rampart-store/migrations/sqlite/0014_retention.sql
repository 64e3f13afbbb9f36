-- Retention (rampart-retention's RetentionStore): policies per data type, disposal runs and
-- their steps, signed disposal certificates, and the application's confirmations.
-- Times are microseconds since the epoch.

-- Audit pruning: a pruned entry keeps its seq, id, time and leaf hash (so every checkpoint and
-- proof still verifies) and loses everything else. Entries may be pruned only below the prune
-- horizon, which never moves backwards, and only this way: the append-only trigger is replaced
-- by one that allows exactly this update and nothing else.
ALTER TABLE audit_entries ADD COLUMN pruned_at BIGINT;
ALTER TABLE audit_entries ADD COLUMN certificate_id TEXT;

CREATE TABLE audit_prune_horizon (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    below_seq BIGINT  NOT NULL CHECK (below_seq >= 0)
);
INSERT INTO audit_prune_horizon (singleton, below_seq) VALUES (1, 0);
CREATE TRIGGER audit_prune_horizon_only_grows BEFORE UPDATE ON audit_prune_horizon
WHEN NEW.below_seq < OLD.below_seq OR NEW.below_seq > (SELECT size FROM audit_head)
BEGIN SELECT RAISE(ABORT, 'the prune horizon never moves backwards nor past the log'); END;
CREATE TRIGGER audit_prune_horizon_no_delete BEFORE DELETE ON audit_prune_horizon
BEGIN SELECT RAISE(ABORT, 'the prune horizon cannot be deleted'); END;

DROP TRIGGER audit_entries_no_update;
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
WHEN NOT (
    OLD.pruned_at IS NULL AND NEW.pruned_at IS NOT NULL AND NEW.certificate_id IS NOT NULL
    AND OLD.seq < (SELECT below_seq FROM audit_prune_horizon)
    AND NEW.seq = OLD.seq AND NEW.id = OLD.id AND NEW.ts = OLD.ts AND NEW.leaf_hash = OLD.leaf_hash
    AND NEW.body = '' AND NEW.actor_type = '' AND NEW.actor_id = '' AND NEW.action = ''
    AND NEW.resource_type = '' AND NEW.resource_id IS NULL AND NEW.team_id IS NULL
    AND NEW.status = '' AND NEW.subject_id IS NULL AND NEW.tags = '[]'
)
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only (only pruning below the prune horizon)'); END;

-- Disposal windows: rows of the append-only tables below may be deleted only when older than
-- their data type's window, which never moves backwards.
CREATE TABLE retention_windows (
    data_type TEXT   PRIMARY KEY,
    before    BIGINT NOT NULL
);
CREATE TRIGGER retention_windows_only_grow BEFORE UPDATE ON retention_windows
WHEN NEW.before < OLD.before OR NEW.data_type IS NOT OLD.data_type
BEGIN SELECT RAISE(ABORT, 'a disposal window never moves backwards'); END;
CREATE TRIGGER retention_windows_no_delete BEFORE DELETE ON retention_windows
BEGIN SELECT RAISE(ABORT, 'a disposal window cannot be deleted'); END;

DROP TRIGGER consents_no_delete;
CREATE TRIGGER consents_no_delete BEFORE DELETE ON consents
WHEN OLD.recorded_at >= coalesce((SELECT before FROM retention_windows WHERE data_type = 'consents'), -9223372036854775808)
BEGIN SELECT RAISE(ABORT, 'consents is append-only (only disposal past retention)'); END;
DROP TRIGGER erasures_no_delete;
CREATE TRIGGER erasures_no_delete BEFORE DELETE ON erasures
WHEN OLD.requested_at >= coalesce((SELECT before FROM retention_windows WHERE data_type = 'erasures'), -9223372036854775808)
BEGIN SELECT RAISE(ABORT, 'erasures are kept (only disposal past retention)'); END;
DROP TRIGGER erasure_confirmations_no_delete;
CREATE TRIGGER erasure_confirmations_no_delete BEFORE DELETE ON erasure_confirmations
WHEN (SELECT requested_at FROM erasures WHERE id = OLD.erasure_id)
     >= coalesce((SELECT before FROM retention_windows WHERE data_type = 'erasures'), -9223372036854775808)
BEGIN SELECT RAISE(ABORT, 'erasure_confirmations is append-only (only disposal past retention)'); END;

-- Policies. A compliance policy is never shortened, weakened to governance or removed, by
-- anyone: the database refuses it too.
CREATE TABLE retention_policies (
    data_type      TEXT   PRIMARY KEY,
    retain_seconds BIGINT NOT NULL CHECK (retain_seconds >= 0),
    mode           TEXT   NOT NULL CHECK (mode IN ('governance', 'compliance')),
    updated_at     BIGINT NOT NULL,
    updated_by     TEXT   NOT NULL
);
CREATE TRIGGER retention_compliance_kept BEFORE UPDATE ON retention_policies
WHEN OLD.mode = 'compliance' AND (NEW.mode <> 'compliance' OR NEW.retain_seconds < OLD.retain_seconds
     OR NEW.data_type IS NOT OLD.data_type)
BEGIN SELECT RAISE(ABORT, 'a compliance retention policy is never shortened'); END;
CREATE TRIGGER retention_compliance_not_removed BEFORE DELETE ON retention_policies
WHEN OLD.mode = 'compliance'
BEGIN SELECT RAISE(ABORT, 'a compliance retention policy is never removed'); END;
INSERT INTO retention_policies (data_type, retain_seconds, mode, updated_at, updated_by)
VALUES ('sessions', 2592000, 'governance', 0, 'default'),
       ('webhook_deliveries', 7776000, 'governance', 0, 'default');

-- Disposal runs and their steps (one per data type). A step's cutoff is fixed when the run
-- starts, and the policies in force then are kept with the run (JSON), so a run resumed after
-- a crash disposes of exactly what it set out to (holds are read again for every batch: one
-- placed during a run holds from then on). `next_seq`/`end_seq` bound an
-- audit step's scan; `cursor` is the last key another step has passed.
CREATE TABLE retention_runs (
    id           TEXT    PRIMARY KEY,
    dry_run      BOOLEAN NOT NULL,
    requested_by TEXT    NOT NULL,
    started_at   BIGINT  NOT NULL,
    finished_at  BIGINT,
    state        TEXT    NOT NULL CHECK (state IN ('running', 'finished')),
    policies     TEXT    NOT NULL
);
CREATE INDEX retention_runs_unfinished ON retention_runs (started_at) WHERE state = 'running';
CREATE TABLE retention_run_steps (
    run_id         TEXT   NOT NULL REFERENCES retention_runs (id),
    data_type      TEXT   NOT NULL,
    cutoff         BIGINT NOT NULL,
    state          TEXT   NOT NULL CHECK (state IN ('pending', 'running', 'done')),
    due            BIGINT NOT NULL DEFAULT 0,
    disposed       BIGINT NOT NULL DEFAULT 0,
    held_back      BIGINT NOT NULL DEFAULT 0,
    next_seq       BIGINT NOT NULL DEFAULT 0,
    end_seq        BIGINT NOT NULL DEFAULT 0,
    cursor         TEXT,
    first_seq      BIGINT,
    last_seq       BIGINT,
    certificate_id TEXT   NOT NULL,
    PRIMARY KEY (run_id, data_type)
);

-- Signed disposal certificates: append-only.
CREATE TABLE retention_certificates (
    id          TEXT   PRIMARY KEY,
    run_id      TEXT   NOT NULL,
    data_type   TEXT   NOT NULL,
    issued_at   BIGINT NOT NULL,
    document    TEXT   NOT NULL,
    signature   BLOB   NOT NULL
);
CREATE INDEX retention_certificates_by_run ON retention_certificates (run_id, data_type);
CREATE TRIGGER retention_certificates_no_update BEFORE UPDATE ON retention_certificates
BEGIN SELECT RAISE(ABORT, 'retention_certificates is append-only'); END;
CREATE TRIGGER retention_certificates_no_delete BEFORE DELETE ON retention_certificates
BEGIN SELECT RAISE(ABORT, 'retention_certificates is append-only'); END;

-- The application's confirmations of its own data types' disposal: append-only.
CREATE TABLE retention_confirmations (
    run_id          TEXT   NOT NULL REFERENCES retention_runs (id),
    data_type       TEXT   NOT NULL,
    records_deleted BIGINT NOT NULL CHECK (records_deleted >= 0),
    deleted_before  BIGINT NOT NULL,
    confirmed_at    BIGINT NOT NULL,
    confirmed_by    TEXT   NOT NULL,
    PRIMARY KEY (run_id, data_type)
);
CREATE TRIGGER retention_confirmations_no_update BEFORE UPDATE ON retention_confirmations
BEGIN SELECT RAISE(ABORT, 'retention_confirmations is append-only'); END;
CREATE TRIGGER retention_confirmations_no_delete BEFORE DELETE ON retention_confirmations
BEGIN SELECT RAISE(ABORT, 'retention_confirmations is append-only'); END;
