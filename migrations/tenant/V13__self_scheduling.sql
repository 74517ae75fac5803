-- Self-scheduling (SPEC §7.3): the booking settings of a department, each agent's working
-- hours (weekly intervals and dated exceptions, in the company time zone), and the token
-- of an appointment's manage link.

-- The booking page's token is kept in clear (like access-link tokens) because the console
-- shows `booking_url`; the URL is stored with it so reads need no configuration.
ALTER TABLE departments ADD COLUMN public_booking INTEGER NOT NULL DEFAULT 0 CHECK (public_booking IN (0, 1));
ALTER TABLE departments ADD COLUMN slot_minutes INTEGER NOT NULL DEFAULT 30 CHECK (slot_minutes BETWEEN 5 AND 480);
ALTER TABLE departments ADD COLUMN buffer_minutes INTEGER NOT NULL DEFAULT 0 CHECK (buffer_minutes BETWEEN 0 AND 240);
ALTER TABLE departments ADD COLUMN min_notice_minutes INTEGER NOT NULL DEFAULT 120
    CHECK (min_notice_minutes BETWEEN 0 AND 10080);
ALTER TABLE departments ADD COLUMN max_advance_days INTEGER NOT NULL DEFAULT 60 CHECK (max_advance_days BETWEEN 1 AND 365);
ALTER TABLE departments ADD COLUMN booking_token TEXT;
ALTER TABLE departments ADD COLUMN booking_url TEXT;
CREATE UNIQUE INDEX departments_booking_token ON departments (booking_token);

-- Minutes since local midnight; an interval ends after it starts on the same day
-- (`end_minute` 1440 is midnight at the end of the day).
CREATE TABLE working_hours (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    weekday      INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute   INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    CHECK (end_minute > start_minute),
    PRIMARY KEY (user_id, weekday, start_minute)
) STRICT, WITHOUT ROWID;

-- A dated exception replaces that day's weekly hours. The day is its own row because an
-- exception without intervals (a day off) must exist too.
CREATE TABLE availability_exceptions (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    date    TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    PRIMARY KEY (user_id, date)
) STRICT, WITHOUT ROWID;

CREATE TABLE availability_exception_intervals (
    user_id      TEXT NOT NULL,
    date         TEXT NOT NULL,
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute   INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    CHECK (end_minute > start_minute),
    PRIMARY KEY (user_id, date, start_minute),
    FOREIGN KEY (user_id, date) REFERENCES availability_exceptions (user_id, date) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- The manage link's token (registered in the registry's public index first, like
-- access-link tokens); kept in clear so later e-mails can carry the link again.
ALTER TABLE appointments ADD COLUMN manage_token TEXT;
CREATE UNIQUE INDEX appointments_manage_token ON appointments (manage_token);
