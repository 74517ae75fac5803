-- Outgoing webhooks: subscriptions, the persisted outbox of deliveries, and every attempt.

CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL CHECK (url LIKE 'http://%' OR url LIKE 'https://%'),
    -- JSON array of event names.
    events      TEXT NOT NULL CHECK (json_valid(events) AND json_type(events) = 'array'),
    secret      TEXT NOT NULL CHECK (length(secret) >= 16),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    inserted_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

-- One row per (event, webhook), written in the transaction that changed the state, with
-- the exact body that will be signed and sent.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  TEXT,
    last_status_code INTEGER,
    last_error       TEXT,
    delivered_at     TEXT,
    inserted_at      TEXT NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, inserted_at);

CREATE TABLE webhook_attempts (
    id          TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL CHECK (number >= 1),
    status_code INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
    inserted_at TEXT NOT NULL,
    UNIQUE (delivery_id, number)
) STRICT;
