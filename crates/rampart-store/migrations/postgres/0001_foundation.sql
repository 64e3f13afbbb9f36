-- The deployment itself: one row, written once by `rampart init`.
CREATE TABLE rampart_deployment (
    singleton          INTEGER PRIMARY KEY CHECK (singleton = 1),
    deployment_id      TEXT    NOT NULL,
    created_at         BIGINT  NOT NULL,
    created_by_version TEXT    NOT NULL
);

-- Secrets sealed by the key-encryption key (sentinel, peppers, signing keys, data keys).
CREATE TABLE sealed_secrets (
    name       TEXT   NOT NULL,
    version    BIGINT NOT NULL CHECK (version >= 1),
    sealed     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE principals (
    id         TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('user', 'service', 'device', 'ai_agent')),
    name       TEXT    NOT NULL UNIQUE,
    email      TEXT,
    roles      TEXT    NOT NULL DEFAULT '[]',
    teams      TEXT    NOT NULL DEFAULT '[]',
    disabled   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT  NOT NULL
);

-- Only the keyed hash of each key is stored; `key_hash` is what authentication looks up.
CREATE TABLE api_keys (
    id           TEXT   PRIMARY KEY,
    principal_id TEXT   NOT NULL REFERENCES principals (id),
    name         TEXT   NOT NULL,
    key_hash     TEXT   NOT NULL UNIQUE,
    scopes       TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_by_principal ON api_keys (principal_id);
