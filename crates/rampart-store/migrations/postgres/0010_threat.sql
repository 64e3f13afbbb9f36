-- Threat protection (rampart-threat's ThreatStore): what must hold across the nodes sharing this
-- database. Times are microseconds since the epoch; addresses and networks are their canonical
-- text (IPv4-mapped IPv6 as IPv4, a single address without a prefix length).

-- The rate-limit rules and the address rules set through the API, as JSON, with a version that
-- each replacement raises by one (compare-and-set: a writer names the version it read).
CREATE TABLE threat_documents (
    kind       TEXT    PRIMARY KEY CHECK (kind IN ('rate_limits', 'ip_rules')),
    json       TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

-- Failures (401, 403, failed logins) of an address, counted within the block window; purged
-- after a day.
CREATE TABLE threat_failures (
    address TEXT   NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX threat_failures_by_address ON threat_failures (address, at);
CREATE INDEX threat_failures_by_time ON threat_failures (at);

-- Blocks of an address or a network (`network`: the target has a prefix length), one per
-- target. A request's address is looked up by its own row and among the networks in force.
CREATE TABLE threat_blocks (
    target     TEXT    PRIMARY KEY,
    network    BOOLEAN NOT NULL,
    reason     TEXT    NOT NULL,
    blocked_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    failures   BIGINT  NOT NULL,
    manual     BOOLEAN NOT NULL
);
CREATE INDEX threat_blocks_by_expiry ON threat_blocks (expires_at, target);
CREATE INDEX threat_blocks_networks ON threat_blocks (expires_at) WHERE network;

-- Every block made, kept a day after it began: the repeats that double the next block.
CREATE TABLE threat_block_history (
    target     TEXT    NOT NULL,
    blocked_at BIGINT  NOT NULL,
    manual     BOOLEAN NOT NULL
);
CREATE INDEX threat_block_history_by_target ON threat_block_history (target, blocked_at);
CREATE INDEX threat_block_history_by_time ON threat_block_history (blocked_at);

-- Targets an operator lifted, exempt from automatic blocks until `exempt_until`.
CREATE TABLE threat_exemptions (
    target       TEXT   PRIMARY KEY,
    exempt_until BIGINT NOT NULL
);
CREATE INDEX threat_exemptions_by_time ON threat_exemptions (exempt_until);

-- The window of a shared rule's bucket: one row per rule and key, updated by one atomic upsert
-- per request. `count` includes refused requests (the first refusal of a window is audited).
-- UNLOGGED: a counter needs no WAL, so its commit waits for no flush (a durable write per
-- request made a shared rule cost 13,500 -> 2,600 req/s); after a crash the windows start
-- empty, which forgives at most one window.
CREATE UNLOGGED TABLE threat_windows (
    rule         TEXT   NOT NULL,
    bucket       TEXT   NOT NULL,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (rule, bucket)
);
CREATE INDEX threat_windows_by_start ON threat_windows (window_start);
