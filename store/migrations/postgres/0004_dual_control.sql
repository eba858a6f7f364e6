-- Dual control (docs/access-control.md): people set their own credentials through one-time
-- enrolments; votes are bound to the parameters they saw; a run's private result goes to its
-- requester once.

CREATE TABLE enrolments (
    token_hash    BYTEA PRIMARY KEY,    -- SHA-256 of the enrolment token
    user_name     TEXT NOT NULL REFERENCES users (name),
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    totp_pending  BYTEA,                -- the offered TOTP secret, sealed like users.totp_sealed
    used_at       BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX enrolments_by_user ON enrolments (user_name);

ALTER TABLE approval_votes ADD COLUMN params_hash BYTEA;
ALTER TABLE approvals ADD COLUMN private_result TEXT;
ALTER TABLE approvals ADD COLUMN private_taken_at BIGINT;
