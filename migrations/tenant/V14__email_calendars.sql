-- Real e-mail (§7.1) and calendars (§7.2): the outbox that a delivery task sends over SMTP,
-- the company's language and patient-notification switch, the appointment's calendar
-- sequence and join link, and the per-user calendar feed.

-- The outbox of V5 held plain bodies that were never sent, among them password-reset links
-- in clear text; those rows are dropped with it rather than carried into the new outbox.
DROP TABLE email_outbox;

-- One row per e-mail, written in the transaction of the change that causes it. A row is
-- `queued` until the delivery task settles it: `sent` once the server accepted it,
-- `failed` after a permanent reply or the 8th try, `skipped` when no SMTP is configured.
-- `claimed_by` names the delivery run that is sending it right now: a row claimed by an
-- earlier run may have been accepted before that process stopped, so it is never sent again
-- (at most once). A password-reset row keeps its link only while it is queued.
CREATE TABLE email_outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('password_reset', 'appointment_confirmation',
                        'appointment_rescheduled', 'appointment_cancelled', 'appointment_reminder',
                        'access_link')),
    recipient       TEXT NOT NULL CHECK (length(recipient) BETWEEN 3 AND 320),
    subject         TEXT NOT NULL,
    text_body       TEXT,
    html_body       TEXT,
    -- The `invite.ics` attachment and its iTIP method, when the e-mail carries one.
    ics             TEXT,
    ics_method      TEXT CHECK (ics_method IN ('REQUEST', 'CANCEL')),
    reset_link      TEXT,
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 8),
    next_attempt_at TEXT,
    claimed_by      TEXT,
    last_error      TEXT,
    related_type    TEXT CHECK (related_type IN ('appointment', 'access_link', 'user')),
    related_id      TEXT,
    inserted_at     TEXT NOT NULL,
    sent_at         TEXT,
    CHECK (status <> 'queued' OR (text_body IS NOT NULL AND html_body IS NOT NULL)),
    CHECK (status <> 'sent' OR sent_at IS NOT NULL),
    CHECK ((ics IS NULL) = (ics_method IS NULL)),
    CHECK (status = 'queued' OR claimed_by IS NULL),
    CHECK (reset_link IS NULL OR (kind = 'password_reset' AND status = 'queued')),
    CHECK (kind <> 'password_reset' OR status = 'queued' OR (text_body IS NULL AND html_body IS NULL)),
    CHECK ((related_type IS NULL) = (related_id IS NULL))
) STRICT;
-- The delivery task's scan, and the manager's list (newest first).
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
CREATE INDEX email_outbox_time ON email_outbox (inserted_at);
CREATE INDEX email_outbox_related ON email_outbox (related_type, related_id);

-- The language of patient e-mails (and of staff e-mails for users without one of these), and
-- whether patients are e-mailed at all.
ALTER TABLE company ADD COLUMN locale TEXT NOT NULL DEFAULT 'en' CHECK (locale IN ('en', 'pt-BR', 'fr'));
ALTER TABLE company ADD COLUMN notify_customers INTEGER NOT NULL DEFAULT 1 CHECK (notify_customers IN (0, 1));

-- How often the event was rescheduled or cancelled: the iCalendar SEQUENCE, so calendars
-- replace the copy they hold.
ALTER TABLE appointments ADD COLUMN ics_sequence INTEGER NOT NULL DEFAULT 0 CHECK (ics_sequence >= 0);
-- The join link issued for the appointment, whose expiry follows a reschedule.
ALTER TABLE appointments ADD COLUMN access_link_id TEXT REFERENCES access_links (id);

-- One calendar-feed token per user, stored as its SHA-256 (the URL is shown once).
CREATE TABLE calendar_feeds (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    inserted_at TEXT NOT NULL
) STRICT;

-- The patient's manage link (§7.3) as e-mailed, beside its token: later e-mails
-- (rescheduled, cancelled, reminder) carry the same address.
ALTER TABLE appointments ADD COLUMN manage_url TEXT;
