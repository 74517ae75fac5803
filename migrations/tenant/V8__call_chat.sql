-- The chat of a call (the call topic's `chat_message`), kept with the call. The sender's
-- name is copied, so the log reads the same after a rename; `sender_id` is the staff
-- user (none for the customer).
CREATE TABLE call_messages (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL REFERENCES calls (id),
    body        TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    sender_role TEXT NOT NULL CHECK (sender_role IN ('agent', 'observer', 'customer')),
    sender_id   TEXT REFERENCES users (id),
    sender_name TEXT NOT NULL,
    inserted_at TEXT NOT NULL,
    CHECK ((sender_role = 'customer') = (sender_id IS NULL))
) STRICT;
CREATE INDEX call_messages_call ON call_messages (call_id, inserted_at);
