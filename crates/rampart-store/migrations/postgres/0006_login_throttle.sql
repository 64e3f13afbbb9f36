-- Failed-login throttles, keyed by the login name as sent (lower-cased), never by principal, so
-- an unknown name is counted, locked and answered exactly like a real one. `source` is the client
-- address (IPv4 exact, IPv6 by /64) for the per-address count, or '*' for the count over every
-- address (the account-wide lock). `failures` counts attempts reserved until `lockout_seconds`
-- pass without one after `last_attempt_at`; a successful login gives its reservation back.
CREATE TABLE login_throttles (
    name         TEXT   NOT NULL,
    source       TEXT   NOT NULL,
    failures     BIGINT NOT NULL,
    last_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    PRIMARY KEY (name, source)
);

-- Locks in force carry over as account-wide locks; the per-principal columns go.
INSERT INTO login_throttles (name, source, failures, last_attempt_at, locked_until)
    SELECT lower(name), '*', MAX(failed_logins), MAX(locked_until), MAX(locked_until)
      FROM principals WHERE locked_until IS NOT NULL GROUP BY lower(name);
ALTER TABLE principals DROP COLUMN failed_logins;
ALTER TABLE principals DROP COLUMN locked_until;
