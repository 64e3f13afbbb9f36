-- Security monitoring (rampart-monitor's MonitorStore). Times are microseconds since the epoch;
-- groups, lists and windows are JSON text; enum values are their wire names.

-- The detection rules set through the API, as JSON, with a version that each replacement raises
-- by one (compare-and-set, as threat_documents).
CREATE TABLE monitor_documents (
    kind       TEXT   PRIMARY KEY CHECK (kind IN ('detection_rules')),
    json       TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The evaluator's cursor (the next `seq` to evaluate): one row, moved by compare-and-set in the
-- transaction that writes what the evaluation found.
CREATE TABLE monitor_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq BIGINT  NOT NULL CHECK (next_seq >= 0)
);
INSERT INTO monitor_cursor (id, next_seq) VALUES (1, 0);

-- The evaluator's sliding windows, one row per rule and group (`group_key`: the group as JSON,
-- keys in order), written with the cursor; only the windows a step changed are written.
CREATE TABLE monitor_windows (
    rule      TEXT NOT NULL,
    group_key TEXT NOT NULL,
    hits      TEXT NOT NULL,
    PRIMARY KEY (rule, group_key)
);

-- Alerts. At most one of a rule and group is active (open or acknowledged) at a time.
CREATE TABLE monitor_alerts (
    id              TEXT   PRIMARY KEY,
    rule            TEXT   NOT NULL,
    severity        TEXT   NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    group_key       TEXT   NOT NULL,
    status          TEXT   NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    count           BIGINT NOT NULL,
    first_seen_at   BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    entry_seqs      TEXT   NOT NULL,
    incident_id     TEXT,
    acknowledged_by TEXT,
    acknowledged_at BIGINT,
    resolved_by     TEXT,
    resolved_at     BIGINT,
    note            TEXT
);
CREATE UNIQUE INDEX monitor_alerts_one_active ON monitor_alerts (rule, group_key)
    WHERE status <> 'resolved';
CREATE INDEX monitor_alerts_by_time ON monitor_alerts (first_seen_at, id);

-- Silences: alerts of `rule` (and of the groups holding `group_json`'s values) are recorded but
-- not notified until `until_at`.
CREATE TABLE monitor_silences (
    id         TEXT   PRIMARY KEY,
    rule       TEXT   NOT NULL,
    group_json TEXT,
    until_at   BIGINT NOT NULL,
    reason     TEXT   NOT NULL,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX monitor_silences_by_end ON monitor_silences (until_at, id);

-- Webhooks. The signing secret is stored sealed by the app layer, never in the clear.
CREATE TABLE monitor_webhooks (
    id            TEXT   PRIMARY KEY,
    url           TEXT   NOT NULL,
    events        TEXT   NOT NULL,
    description   TEXT   NOT NULL,
    sealed_secret BYTEA  NOT NULL,
    created_by    TEXT   NOT NULL,
    created_at    BIGINT NOT NULL
);

-- The outbox: one row per event and webhook, written in the transaction that records the event.
-- A pending row is due at `next_attempt_at`; sent ones stay as history when the webhook goes.
CREATE TABLE monitor_deliveries (
    id               TEXT   PRIMARY KEY,
    webhook_id       TEXT   NOT NULL,
    event            TEXT   NOT NULL,
    body             TEXT   NOT NULL,
    status           TEXT   NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT NOT NULL CHECK (attempts >= 0),
    last_status_code BIGINT,
    next_attempt_at  BIGINT,
    created_at       BIGINT NOT NULL,
    CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL)
);
CREATE INDEX monitor_deliveries_due ON monitor_deliveries (status, next_attempt_at);
CREATE INDEX monitor_deliveries_by_webhook ON monitor_deliveries (webhook_id, created_at);

-- Incidents (`id`: INC-YYYYMMDD-NNNN). Only open ones escalate, at `next_escalation_at`.
CREATE TABLE monitor_incidents (
    id                       TEXT    PRIMARY KEY,
    title                    TEXT    NOT NULL,
    description              TEXT    NOT NULL,
    severity                 TEXT    NOT NULL
        CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status                   TEXT    NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    created_at               BIGINT  NOT NULL,
    acknowledged_at          BIGINT,
    resolved_at              BIGINT,
    escalation_level         BIGINT  NOT NULL CHECK (escalation_level >= 0),
    next_escalation_at       BIGINT,
    personal_data_breach     BOOLEAN NOT NULL,
    notification_deadline_at BIGINT,
    alert_ids                TEXT    NOT NULL,
    entry_seqs               TEXT    NOT NULL
);
CREATE INDEX monitor_incidents_escalation ON monitor_incidents (next_escalation_at)
    WHERE status = 'open';
CREATE INDEX monitor_incidents_by_time ON monitor_incidents (created_at, id);

-- Each incident's timeline, append-only, in the order of `position`.
CREATE TABLE monitor_timeline (
    position    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id TEXT   NOT NULL REFERENCES monitor_incidents (id),
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    kind        TEXT   NOT NULL
        CHECK (kind IN ('opened', 'note', 'action', 'acknowledged', 'escalated', 'resolved')),
    text        TEXT   NOT NULL
);
CREATE INDEX monitor_timeline_by_incident ON monitor_timeline (incident_id, position);

-- The last incident number taken per day (`day`: YYYYMMDD), raised by one atomic upsert.
CREATE TABLE monitor_incident_numbers (
    day         TEXT   PRIMARY KEY,
    last_number BIGINT NOT NULL
);
