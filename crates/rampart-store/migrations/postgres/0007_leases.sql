-- Leases of background jobs: the node (`holder`, its id) that runs `job` until `expires_at`.
-- The holder renews before then; another node takes the row over only once it has expired, so
-- exactly one node runs a cluster-wide job at a time. Times are microseconds since the epoch.
CREATE TABLE leases (
    job         TEXT   PRIMARY KEY,
    holder      TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL
);
