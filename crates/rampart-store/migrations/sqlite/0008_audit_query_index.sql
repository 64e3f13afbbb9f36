-- The audit log's query index moves out of the commit path: an indexer keeps postings
-- (term, seq) after commit, in a separate file on SQLite (`<database>.audit-index`, derived data,
-- rebuilt when missing) so it never holds the log's write lock. The per-column indexes and the
-- tag table, maintained inside every append, go. The time index stays: its keys only grow, so
-- an append touches one page of it.
DROP INDEX audit_by_actor;
DROP INDEX audit_by_action;
DROP INDEX audit_by_resource;
DROP INDEX audit_by_team;
DROP INDEX audit_by_subject;
DROP INDEX audit_by_unusual_status;
DROP TABLE audit_entry_tags;
