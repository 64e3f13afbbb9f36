-- Compliance reports (rampart-compliance's ComplianceStore). Times are microseconds since the
-- epoch. A report is the signed JSON document exactly as served; reports and control history
-- are never changed or deleted, waivers are revoked, never deleted.
CREATE TABLE compliance_reports (
    id           TEXT   PRIMARY KEY,
    framework    TEXT   NOT NULL,
    generated_at BIGINT NOT NULL,
    tree_size    BIGINT NOT NULL,
    document     TEXT   NOT NULL
);
CREATE INDEX compliance_reports_by_framework ON compliance_reports (framework, generated_at);
CREATE TABLE compliance_waivers (
    id         TEXT   PRIMARY KEY,
    framework  TEXT   NOT NULL,
    control    TEXT   NOT NULL,
    reason     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT
);
CREATE TABLE compliance_control_history (
    framework    TEXT   NOT NULL,
    control      TEXT   NOT NULL,
    evaluated_at BIGINT NOT NULL,
    status       TEXT   NOT NULL,
    report_id    TEXT
);
CREATE INDEX compliance_history_by_control
    ON compliance_control_history (framework, control, evaluated_at);
CREATE INDEX compliance_history_daily
    ON compliance_control_history (evaluated_at) WHERE report_id IS NULL;
CREATE TRIGGER compliance_reports_no_update BEFORE UPDATE ON compliance_reports
BEGIN SELECT RAISE(ABORT, 'compliance reports are never changed'); END;
CREATE TRIGGER compliance_reports_no_delete BEFORE DELETE ON compliance_reports
BEGIN SELECT RAISE(ABORT, 'compliance reports are never deleted'); END;
CREATE TRIGGER compliance_waivers_no_delete BEFORE DELETE ON compliance_waivers
BEGIN SELECT RAISE(ABORT, 'waivers are revoked, never deleted'); END;
CREATE TRIGGER compliance_history_no_update BEFORE UPDATE ON compliance_control_history
BEGIN SELECT RAISE(ABORT, 'control history is never changed'); END;
CREATE TRIGGER compliance_history_no_delete BEFORE DELETE ON compliance_control_history
BEGIN SELECT RAISE(ABORT, 'control history is never deleted'); END;
