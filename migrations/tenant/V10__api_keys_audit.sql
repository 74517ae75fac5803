-- API keys for integrators, and the audit log.

-- A key acts with its own role (never above its creator's, never owner) under its
-- creator's identity, so rows it writes that name a user (authors, assignees) stay valid.
-- Only the SHA-256 of the key is kept; `prefix` (`vk_<slug>_` and a few characters)
-- lets a manager tell keys apart. A deleted key keeps its row (the audit log names it).
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE CHECK (length(key_hash) = 64),
    role         TEXT NOT NULL CHECK (role IN ('attendant', 'supervisor', 'manager')),
    user_id      TEXT NOT NULL REFERENCES users (id),
    expires_at   TEXT,
    last_used_at TEXT,
    deleted_at   TEXT,
    inserted_at  TEXT NOT NULL
) STRICT;

-- One row per change, written in the transaction of the change. `changes` is a JSON
-- object {field: [old, new]} without secrets. Rows are never edited or deleted, except
-- that erasing a customer rewrites their personal values in `changes`.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_type  TEXT NOT NULL CHECK (actor_type IN ('user', 'api_key', 'customer', 'system')),
    actor_id    TEXT,
    actor_name  TEXT,
    ip          TEXT,
    action      TEXT NOT NULL CHECK (length(action) BETWEEN 3 AND 100),
    object_type TEXT NOT NULL,
    object_id   TEXT,
    changes     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(changes) AND json_type(changes) = 'object')
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);

CREATE TRIGGER audit_log_rows_are_kept BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit rows cannot be deleted');
END;

CREATE TRIGGER audit_log_rows_are_fixed
BEFORE UPDATE OF id, at, actor_type, actor_id, ip, action, object_type, object_id ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit rows cannot be edited');
END;
