-- Customers (patients): the people being served. `phone_digits` holds the phone's digits
-- only, so matching ignores punctuation. `call_count` and `last_call_at` are maintained by
-- the code paths that create calls and by merges.
CREATE TABLE customers (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email        TEXT,
    phone        TEXT,
    phone_digits TEXT,
    document     TEXT,
    notes        TEXT,
    call_count   INTEGER NOT NULL DEFAULT 0 CHECK (call_count >= 0),
    last_call_at TEXT,
    inserted_at  TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;
CREATE INDEX customers_email ON customers (lower(email));
CREATE INDEX customers_phone_digits ON customers (phone_digits);
