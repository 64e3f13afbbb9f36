-- Named keys of the keys service. Each version's material is a row of `sealed_secrets`
-- (name `key/<key name>`), sealed by the KEK; these tables hold only metadata.
CREATE TABLE keys (
    name                   TEXT    PRIMARY KEY,
    key_type               TEXT    NOT NULL CHECK (key_type IN ('aes256-gcm', 'fernet', 'hmac-sha256', 'ed25519')),
    latest_version         BIGINT  NOT NULL CHECK (latest_version >= 1),
    min_decryption_version BIGINT  NOT NULL CHECK (min_decryption_version >= 1),
    rotation_period_days   BIGINT  CHECK (rotation_period_days IS NULL OR rotation_period_days >= 1),
    created_at             BIGINT  NOT NULL,
    updated_at             BIGINT  NOT NULL
);

CREATE TABLE key_versions (
    key_name    TEXT   NOT NULL REFERENCES keys (name),
    version     BIGINT NOT NULL CHECK (version >= 1),
    created_at  BIGINT NOT NULL,
    -- Encryptions counted so far (summed from every server), for the 2^32 limit per version.
    encryptions BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_name, version)
);

-- The card vault: the PAN only as a ciphertext of the internal key `rampart.cards`.
CREATE TABLE card_tokens (
    token             TEXT   PRIMARY KEY,
    fingerprint       TEXT   NOT NULL,
    brand             TEXT   NOT NULL,
    last_four         TEXT   NOT NULL,
    pan_ciphertext    TEXT   NOT NULL,
    expiry_ciphertext TEXT,
    key_version       BIGINT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX card_tokens_by_fingerprint ON card_tokens (fingerprint);
CREATE INDEX card_tokens_by_key_version ON card_tokens (key_version, token);
