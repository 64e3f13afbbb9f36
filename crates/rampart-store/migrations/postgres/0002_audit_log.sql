-- The audit log. `body` is the RFC 8785 canonical JSON of the entry (the Merkle leaf input);
-- the other columns are copies of its fields for indexed queries.
CREATE TABLE audit_entries (
    seq           BIGINT PRIMARY KEY,
    id            TEXT   NOT NULL,
    ts            BIGINT NOT NULL,
    actor_type    TEXT   NOT NULL,
    actor_id      TEXT   NOT NULL,
    action        TEXT   NOT NULL,
    resource_type TEXT   NOT NULL,
    resource_id   TEXT,
    team_id       TEXT,
    status        TEXT   NOT NULL,
    subject_id    TEXT,
    tags          TEXT   NOT NULL,
    body          TEXT   NOT NULL,
    leaf_hash     BYTEA  NOT NULL
);
-- Indexes serve every filter of GET /v1/audit/entries, each ending in seq for stable cursors.
-- Columns that are mostly NULL (or mostly 'success') get partial indexes: appends then update
-- only the indexes that can ever be selective. Low-cardinality actor_type is served by scans
-- in seq order combined with the other filters.
CREATE INDEX audit_by_actor ON audit_entries (actor_id, seq);
CREATE INDEX audit_by_action ON audit_entries (action, seq);
CREATE INDEX audit_by_resource ON audit_entries (resource_type, resource_id, seq);
CREATE INDEX audit_by_time ON audit_entries (ts, seq);
CREATE INDEX audit_by_team ON audit_entries (team_id, seq) WHERE team_id IS NOT NULL;
CREATE INDEX audit_by_subject ON audit_entries (subject_id, seq) WHERE subject_id IS NOT NULL;
CREATE INDEX audit_by_unusual_status ON audit_entries (status, seq) WHERE status <> 'success';

CREATE TABLE audit_entry_tags (
    tag TEXT   NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (tag, seq)
);

-- Hashes of complete subtrees at every eighth level (8, 16, 24, ...): tiles for O(log n) proofs.
CREATE TABLE audit_tiles (
    level BIGINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA  NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Full tiles: 256 consecutive hashes of one stored level in one row (8192 bytes), so a proof
-- reads a few rows instead of hundreds.
CREATE TABLE audit_tile_blobs (
    level  BIGINT NOT NULL,
    tile   BIGINT NOT NULL,
    hashes BYTEA  NOT NULL,
    PRIMARY KEY (level, tile)
);

-- The committed size and root. Writers of every server serialize on this row (FOR UPDATE).
CREATE TABLE audit_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    size      BIGINT  NOT NULL,
    root      BYTEA   NOT NULL
);
INSERT INTO audit_head (singleton, size, root)
VALUES (1, 0, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea);

CREATE TABLE audit_checkpoints (
    tree_size BIGINT PRIMARY KEY,
    root      BYTEA  NOT NULL,
    ts        BIGINT NOT NULL,
    note      TEXT   NOT NULL,
    signature BYTEA  NOT NULL
);

-- Append-only, enforced by the database itself.
CREATE FUNCTION rampart_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE FUNCTION rampart_audit_head_only_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.size < OLD.size THEN
        RAISE EXCEPTION 'the audit log cannot shrink';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER audit_entry_tags_append_only BEFORE UPDATE OR DELETE ON audit_entry_tags
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER audit_entry_tags_no_truncate BEFORE TRUNCATE ON audit_entry_tags
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER audit_tiles_append_only BEFORE UPDATE OR DELETE ON audit_tiles
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER audit_tiles_no_truncate BEFORE TRUNCATE ON audit_tiles
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER audit_tile_blobs_append_only BEFORE UPDATE OR DELETE ON audit_tile_blobs
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER audit_tile_blobs_no_truncate BEFORE TRUNCATE ON audit_tile_blobs
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER audit_head_only_grows BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_head_only_grows();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();

-- No role but the owner may change audit rows; a deployment that serves with a role other than
-- the owner (recommended) cannot UPDATE, DELETE or TRUNCATE them at all, triggers aside.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries, audit_entry_tags, audit_tiles, audit_tile_blobs, audit_checkpoints FROM PUBLIC;
REVOKE DELETE, TRUNCATE ON audit_head FROM PUBLIC;
