-- Security hardening.

-- A session that may only enrol its principal's own second factor: what a principal whose role
-- requires one, and who has none yet, gets from a right password (nobody enrols a factor for
-- someone else).
ALTER TABLE sessions ADD COLUMN enrollment_only BOOLEAN NOT NULL DEFAULT FALSE;

-- A key's team: when set, only members of the team (or roles that bypass team isolation) use it.
ALTER TABLE keys ADD COLUMN team_id TEXT;
