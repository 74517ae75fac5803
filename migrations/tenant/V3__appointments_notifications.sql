-- Appointments (scheduled video calls), the reminders already sent for them, and the
-- per-user notifications the sweeper (and later the calls) write.

-- `ends_at` = `scheduled_at` + `duration_minutes`, kept with the row so the conflict check
-- and the overdue sweep compare stored text instead of doing date arithmetic per row.
-- The code writes both together; the CHECK keeps them ordered.
CREATE TABLE appointments (
    id               TEXT PRIMARY KEY,
    title            TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description      TEXT,
    status           TEXT NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'confirmed', 'completed', 'cancelled', 'no_show')),
    scheduled_at     TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
    ends_at          TEXT NOT NULL CHECK (ends_at > scheduled_at),
    department_id    TEXT NOT NULL REFERENCES departments (id),
    user_id          TEXT NOT NULL REFERENCES users (id),
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    notes            TEXT,
    overdue          INTEGER NOT NULL DEFAULT 0 CHECK (overdue IN (0, 1)),
    cancel_reason    TEXT,
    access_link_url  TEXT,
    confirmed_at     TEXT,
    cancelled_at     TEXT,
    completed_at     TEXT,
    inserted_at      TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    -- Only an open appointment can be overdue.
    CHECK (overdue = 0 OR status IN ('scheduled', 'confirmed'))
) STRICT;
-- The conflict check: one agent's appointments around a time.
CREATE INDEX appointments_user_time ON appointments (user_id, scheduled_at);
CREATE INDEX appointments_department_time ON appointments (department_id, scheduled_at);
-- The status filter, and the sweeper's scans of open appointments (overdue, reminders).
CREATE INDEX appointments_status_time ON appointments (status, scheduled_at);
CREATE INDEX appointments_time ON appointments (scheduled_at);
CREATE INDEX appointments_customer ON appointments (customer_id);

-- One row per reminder offset already handled for an appointment at a given start time,
-- so a reminder is sent once even across restarts and overlapping sweeps; moving the
-- appointment to another time arms its reminders again.
CREATE TABLE appointment_reminders (
    appointment_id TEXT NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    scheduled_at   TEXT NOT NULL,
    offset_minutes INTEGER NOT NULL CHECK (offset_minutes > 0),
    inserted_at    TEXT NOT NULL,
    PRIMARY KEY (appointment_id, scheduled_at, offset_minutes)
) STRICT, WITHOUT ROWID;

-- The set of types grows with later features (calls add `call_assigned`, …), and SQLite
-- cannot alter a CHECK without rebuilding the table, so the schema only checks the form
-- of a type; the code writes types from one enum.
CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type        TEXT NOT NULL CHECK (length(type) BETWEEN 1 AND 64 AND type NOT GLOB '*[^a-z_]*'),
    title       TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data) AND json_type(data) = 'object'),
    read_at     TEXT,
    inserted_at TEXT NOT NULL
) STRICT;
CREATE INDEX notifications_user_time ON notifications (user_id, inserted_at);
CREATE INDEX notifications_user_unread ON notifications (user_id) WHERE read_at IS NULL;
