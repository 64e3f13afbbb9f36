-- Whether a session's login passed the second factor (TOTP). Keys for principals whose roles
-- require a second factor may only be made in such a session. Sessions from before this
-- migration count as not having passed it: their principals log in again.
ALTER TABLE sessions ADD COLUMN second_factor BOOLEAN NOT NULL DEFAULT FALSE;
