-- The audit log's query index moves out of the commit path: an indexer keeps postings
-- (term, seq) after commit, in its own transactions (derived data, rebuilt when it does not
-- match the entries). The per-column indexes and the tag table, maintained inside every append,
-- go. The time index stays: its keys only grow, so an append touches one page of it.
DROP INDEX audit_by_actor;
DROP INDEX audit_by_action;
DROP INDEX audit_by_resource;
DROP INDEX audit_by_team;
DROP INDEX audit_by_subject;
DROP INDEX audit_by_unusual_status;
DROP TABLE audit_entry_tags;

CREATE TABLE audit_postings (
    term TEXT   NOT NULL,
    seq  BIGINT NOT NULL,
    PRIMARY KEY (term, seq)
);

-- How far the postings reach: every entry with seq < indexed_size has all its postings, and
-- last_leaf is the leaf hash of entry indexed_size - 1 (so an index that does not match the
-- entries, e.g. after a restore, is detected and rebuilt).
CREATE TABLE audit_index_state (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    indexed_size BIGINT  NOT NULL,
    last_leaf    BYTEA
);
INSERT INTO audit_index_state (singleton, indexed_size, last_leaf) VALUES (1, 0, NULL);
