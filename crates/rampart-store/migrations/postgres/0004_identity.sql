-- Identity and access: passwords, second factors, lockouts, sessions, API-key limits and use,
-- and the role policy set through the API.

-- Argon2id PHC string; NULL for principals that never log in with a password.
ALTER TABLE principals ADD COLUMN password_hash TEXT;
-- The TOTP secret sealed by the KEK (name `totp/<principal id>`), and one being enrolled,
-- which replaces it only when a code from it is confirmed.
ALTER TABLE principals ADD COLUMN totp_sealed BYTEA;
ALTER TABLE principals ADD COLUMN totp_pending BYTEA;
ALTER TABLE principals ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
-- The last TOTP time step accepted, so a code is never accepted twice.
ALTER TABLE principals ADD COLUMN totp_last_step BIGINT;
ALTER TABLE principals ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE principals ADD COLUMN locked_until BIGINT;
ALTER TABLE principals ADD COLUMN updated_at BIGINT;

-- CIDRs as a JSON list; NULL means any address.
ALTER TABLE api_keys ADD COLUMN allowed_ips TEXT;
-- Use is counted in memory and added here every few seconds, not on every request.
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
ALTER TABLE api_keys ADD COLUMN usage_count BIGINT NOT NULL DEFAULT 0;
-- The key this one replaced by rotation, if any.
ALTER TABLE api_keys ADD COLUMN rotated_from TEXT;

CREATE TABLE sessions (
    id           TEXT   PRIMARY KEY,
    principal_id TEXT   NOT NULL REFERENCES principals (id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    client_ip    TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_by_principal ON sessions (principal_id);

-- The role policy set by `PUT /v1/policy` (one row); absent: the default or the policy file.
CREATE TABLE access_policy (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    document   TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
