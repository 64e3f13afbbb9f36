-- AI-agent governance (rampart-agents' AgentStore and AgentChange). Times are microseconds since
-- the epoch; targets, parameters, blast radii, guardrails and result details are JSON text.
-- An agent's owner answers for it and may never approve its actions.
ALTER TABLE principals ADD COLUMN owner_id TEXT REFERENCES principals (id);

CREATE TABLE agent_guardrails (
    agent_id   TEXT   PRIMARY KEY REFERENCES principals (id),
    document   TEXT   NOT NULL,
    version    BIGINT NOT NULL CHECK (version >= 1),
    updated_at BIGINT NOT NULL,
    updated_by TEXT   NOT NULL
);

-- Every decided action. Its status changes (approved, executed, ...); it is never deleted: with
-- its audit entries it is the record of what each agent was allowed to do.
CREATE TABLE agent_actions (
    id                 TEXT    PRIMARY KEY,
    agent_id           TEXT    NOT NULL REFERENCES principals (id),
    submitted_by       TEXT    NOT NULL,
    owner_id           TEXT,
    action             TEXT    NOT NULL,
    target             TEXT    NOT NULL,
    team_id            TEXT,
    parameters         TEXT    NOT NULL,
    parameters_sha256  TEXT    NOT NULL,
    blast_radius       TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('allowed', 'pending_approval', 'approved',
                           'rejected', 'expired', 'denied', 'executed', 'failed')),
    reason             TEXT    NOT NULL,
    approvals_required INTEGER NOT NULL,
    created_at         BIGINT  NOT NULL,
    expires_at         BIGINT,
    updated_at         BIGINT  NOT NULL,
    token_used_at      BIGINT,
    result_status      TEXT    CHECK (result_status IN ('succeeded', 'failed')),
    result_details     TEXT,
    result_by          TEXT,
    result_at          BIGINT
);
CREATE INDEX agent_actions_by_agent ON agent_actions (agent_id, id);
CREATE INDEX agent_actions_by_status ON agent_actions (status, id);
CREATE INDEX agent_actions_pending ON agent_actions (expires_at) WHERE status = 'pending_approval';
CREATE TRIGGER agent_actions_no_delete BEFORE DELETE ON agent_actions
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER agent_actions_no_truncate BEFORE TRUNCATE ON agent_actions
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();

-- Approvers' answers: one per approver and action, never changed or deleted.
CREATE TABLE agent_approvals (
    action_id   TEXT   NOT NULL REFERENCES agent_actions (id),
    approver_id TEXT   NOT NULL,
    verdict     TEXT   NOT NULL CHECK (verdict IN ('approve', 'reject')),
    comment     TEXT,
    at          BIGINT NOT NULL,
    PRIMARY KEY (action_id, approver_id)
);
CREATE TRIGGER agent_approvals_no_change BEFORE UPDATE OR DELETE ON agent_approvals
    FOR EACH ROW EXECUTE FUNCTION rampart_audit_append_only();
CREATE TRIGGER agent_approvals_no_truncate BEFORE TRUNCATE ON agent_approvals
    FOR EACH STATEMENT EXECUTE FUNCTION rampart_audit_append_only();

-- The hourly cap's count: actions that were not denied, per agent and minute (minutes since the
-- epoch). Buckets older than the window are deleted by the approval-expiry job.
CREATE TABLE agent_action_counts (
    agent_id TEXT   NOT NULL,
    minute   BIGINT NOT NULL,
    count    BIGINT NOT NULL CHECK (count >= 0),
    PRIMARY KEY (agent_id, minute)
);
