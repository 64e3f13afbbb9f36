-- Retention (rampart-retention's RetentionStore): policies per data type, disposal runs and
-- their steps, signed disposal certificates, and the application's confirmations.
-- Times are microseconds since the epoch.

-- Audit pruning: a pruned entry keeps its seq, id, time and leaf hash (so every checkpoint and
-- proof still verifies) and loses everything else. Entries may be pruned only below the prune
-- horizon, which never moves backwards, and only this way. The runtime role holds no UPDATE on
-- the audit tables: it prunes through rampart_prune_audit_entries, which runs as the owner.
ALTER TABLE audit_entries ADD COLUMN pruned_at BIGINT;
ALTER TABLE audit_entries ADD COLUMN certificate_id TEXT;

CREATE TABLE audit_prune_horizon (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    below_seq BIGINT  NOT NULL CHECK (below_seq >= 0)
);
INSERT INTO audit_prune_horizon (singleton, below_seq) VALUES (1, 0);
CREATE FUNCTION rampart_prune_horizon_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.below_seq < OLD.below_seq
       OR NEW.below_seq > (SELECT size FROM audit_head) THEN
        RAISE EXCEPTION 'the prune horizon never moves backwards nor past the log';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_prune_horizon_guard BEFORE UPDATE OR DELETE ON audit_prune_horizon
    FOR EACH ROW EXECUTE FUNCTION rampart_prune_horizon_guard();
CREATE TRIGGER audit_prune_horizon_no_truncate BEFORE TRUNCATE ON audit_prune_horizon
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();

CREATE FUNCTION rampart_audit_entries_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.pruned_at IS NULL AND NEW.pruned_at IS NOT NULL AND NEW.certificate_id IS NOT NULL
       AND OLD.seq < (SELECT below_seq FROM audit_prune_horizon)
       AND NEW.seq = OLD.seq AND NEW.id = OLD.id AND NEW.ts = OLD.ts
       AND NEW.leaf_hash = OLD.leaf_hash
       AND NEW.body = '' AND NEW.actor_type = '' AND NEW.actor_id = '' AND NEW.action = ''
       AND NEW.resource_type = '' AND NEW.resource_id IS NULL AND NEW.team_id IS NULL
       AND NEW.status = '' AND NEW.subject_id IS NULL AND NEW.tags = '[]' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_entries is append-only (% refused: only pruning below the prune horizon)', TG_OP;
END
$$;
DROP TRIGGER audit_entries_append_only ON audit_entries;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_entries_guard();

-- Moves the horizon up (never down) and prunes the given entries below it, as the owner.
-- Returns how many were pruned now (entries pruned before are left as they are).
CREATE FUNCTION rampart_prune_audit_entries(below BIGINT, seqs BIGINT[], at BIGINT, certificate TEXT)
RETURNS BIGINT LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    pruned BIGINT;
BEGIN
    UPDATE audit_prune_horizon SET below_seq = below WHERE below_seq < below;
    UPDATE audit_entries SET body = '', actor_type = '', actor_id = '', action = '',
           resource_type = '', resource_id = NULL, team_id = NULL, status = '',
           subject_id = NULL, tags = '[]', pruned_at = at, certificate_id = certificate
     WHERE seq = ANY(seqs) AND pruned_at IS NULL;
    GET DIAGNOSTICS pruned = ROW_COUNT;
    RETURN pruned;
END
$$;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_prune_horizon FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rampart_prune_audit_entries(BIGINT, BIGINT[], BIGINT, TEXT) TO PUBLIC;

-- Disposal windows: rows of the append-only tables below may be deleted only when older than
-- their data type's window, which never moves backwards.
CREATE TABLE retention_windows (
    data_type TEXT   PRIMARY KEY,
    before    BIGINT NOT NULL
);
CREATE FUNCTION rampart_retention_windows_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.before < OLD.before OR NEW.data_type IS DISTINCT FROM OLD.data_type THEN
        RAISE EXCEPTION 'a disposal window never moves backwards';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER retention_windows_guard BEFORE UPDATE OR DELETE ON retention_windows
    FOR EACH ROW EXECUTE FUNCTION rampart_retention_windows_guard();

CREATE FUNCTION rampart_retention_window(kind TEXT) RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT before FROM retention_windows WHERE data_type = kind), -9223372036854775808)
$$;
CREATE OR REPLACE FUNCTION rampart_consents_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.recorded_at < rampart_retention_window('consents') THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'consents is append-only (DELETE refused: only disposal past retention)';
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
CREATE FUNCTION rampart_erasures_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.requested_at < rampart_retention_window('erasures') THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'erasures are kept (% refused: only disposal past retention)', TG_OP;
END
$$;
CREATE FUNCTION rampart_erasure_confirmations_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND (SELECT requested_at FROM erasures WHERE id = OLD.erasure_id) < rampart_retention_window('erasures') THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'erasure_confirmations is append-only (% refused: only disposal past retention)', TG_OP;
END
$$;
DROP TRIGGER erasures_no_delete ON erasures;
CREATE TRIGGER erasures_no_delete BEFORE DELETE ON erasures
    FOR EACH ROW EXECUTE FUNCTION rampart_erasures_guard();
DROP TRIGGER erasure_confirmations_append_only ON erasure_confirmations;
CREATE TRIGGER erasure_confirmations_append_only BEFORE UPDATE OR DELETE ON erasure_confirmations
    FOR EACH ROW EXECUTE FUNCTION rampart_erasure_confirmations_guard();

-- Policies. A compliance policy is never shortened, weakened to governance or removed, by
-- anyone: the database refuses it too.
CREATE TABLE retention_policies (
    data_type      TEXT   PRIMARY KEY,
    retain_seconds BIGINT NOT NULL CHECK (retain_seconds >= 0),
    mode           TEXT   NOT NULL CHECK (mode IN ('governance', 'compliance')),
    updated_at     BIGINT NOT NULL,
    updated_by     TEXT   NOT NULL
);
CREATE FUNCTION rampart_retention_policies_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.mode = 'compliance' AND (TG_OP = 'DELETE' OR NEW.mode <> 'compliance'
       OR NEW.retain_seconds < OLD.retain_seconds OR NEW.data_type IS DISTINCT FROM OLD.data_type) THEN
        RAISE EXCEPTION 'a compliance retention policy is never shortened or removed';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER retention_policies_guard BEFORE UPDATE OR DELETE ON retention_policies
    FOR EACH ROW EXECUTE FUNCTION rampart_retention_policies_guard();
CREATE TRIGGER retention_policies_no_truncate BEFORE TRUNCATE ON retention_policies
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();
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
    signature   BYTEA  NOT NULL
);
CREATE INDEX retention_certificates_by_run ON retention_certificates (run_id, data_type);
CREATE TRIGGER retention_certificates_append_only BEFORE UPDATE OR DELETE ON retention_certificates
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER retention_certificates_no_truncate BEFORE TRUNCATE ON retention_certificates
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();

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
CREATE TRIGGER retention_confirmations_append_only BEFORE UPDATE OR DELETE ON retention_confirmations
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER retention_confirmations_no_truncate BEFORE TRUNCATE ON retention_confirmations
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();
