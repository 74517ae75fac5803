-- MFA replay protection, password resets, and the e-mail outbox.

-- The last TOTP time step accepted for the user: a code is accepted once (RFC 6238 §5.2).
ALTER TABLE users ADD COLUMN mfa_last_step INTEGER;

-- Single-use password-reset tokens, stored hashed, valid 60 minutes.
CREATE TABLE password_resets (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    inserted_at TEXT NOT NULL
) STRICT;
CREATE INDEX password_resets_user ON password_resets (user_id);

-- E-mails the server wants to send. Without SMTP configured they stay here (and in the
-- log) for the operator; `sent_at` is set once delivered.
CREATE TABLE email_outbox (
    id          TEXT PRIMARY KEY,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    sent_at     TEXT,
    inserted_at TEXT NOT NULL
) STRICT;
