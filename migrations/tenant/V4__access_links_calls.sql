-- Access links, calls (with their files, manager notes and tags), tags and evaluations.
-- Times are TEXT `YYYY-MM-DDTHH:MM:SSZ`, like every other table.

-- A link a customer opens to join a department's queue. `status` is what was last
-- recorded: an `active` row whose `expires_at` has passed is shown as `expired` by every
-- read, and the sweeper persists it. `token` is also registered in the registry's
-- public_index so the public widget finds the tenant.
CREATE TABLE access_links (
    id             TEXT PRIMARY KEY,
    token          TEXT NOT NULL UNIQUE CHECK (length(token) >= 22),
    department_id  TEXT NOT NULL REFERENCES departments (id),
    customer_name  TEXT,
    customer_email TEXT,
    customer_phone TEXT,
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'used', 'expired', 'cancelled')),
    reusable       INTEGER NOT NULL DEFAULT 0 CHECK (reusable IN (0, 1)),
    use_count      INTEGER NOT NULL DEFAULT 0 CHECK (use_count >= 0),
    expires_at     TEXT NOT NULL,
    used_at        TEXT,
    cancelled_at   TEXT,
    created_by     TEXT REFERENCES users (id) ON DELETE SET NULL,
    inserted_at    TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CHECK (status <> 'used' OR (used_at IS NOT NULL AND reusable = 0)),
    CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL)
) STRICT;
CREATE INDEX access_links_department ON access_links (department_id, inserted_at);
CREATE INDEX access_links_status ON access_links (status, expires_at);
CREATE INDEX access_links_inserted ON access_links (inserted_at);

-- The last protocol number handed out per day (company time zone): calls get
-- `YYYYMMDD-NNNNNN`, counted in the same transaction that inserts the call.
CREATE TABLE call_protocol_counters (
    day         TEXT PRIMARY KEY CHECK (length(day) = 8),
    last_number INTEGER NOT NULL CHECK (last_number >= 1)
) STRICT, WITHOUT ROWID;

-- A customer's call. `queued` (assigned or not) → `active` → `completed`; `missed` and
-- `cancelled` end a call that never started. `provider_id`/`provider_name` are copied from
-- the agent when the call is assigned, so reports survive the agent leaving the provider.
CREATE TABLE calls (
    id             TEXT PRIMARY KEY,
    protocol       TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'active', 'completed', 'missed', 'cancelled')),
    department_id  TEXT NOT NULL REFERENCES departments (id),
    customer_id    TEXT NOT NULL REFERENCES customers (id),
    user_id        TEXT REFERENCES users (id),
    provider_id    TEXT REFERENCES service_providers (id),
    provider_name  TEXT,
    access_link_id TEXT REFERENCES access_links (id),
    reason         TEXT,
    inserted_at    TEXT NOT NULL,
    assigned_at    TEXT,
    started_at     TEXT,
    completed_at   TEXT,
    missed_at      TEXT,
    cancelled_at   TEXT,
    updated_at     TEXT NOT NULL,
    CHECK ((user_id IS NULL) = (assigned_at IS NULL)),
    CHECK (status NOT IN ('active', 'completed') OR (started_at IS NOT NULL AND user_id IS NOT NULL)),
    CHECK (status <> 'completed' OR completed_at IS NOT NULL),
    CHECK (status <> 'missed' OR missed_at IS NOT NULL),
    CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL)
) STRICT;
CREATE INDEX calls_queue ON calls (department_id, status, inserted_at);
CREATE INDEX calls_inserted ON calls (inserted_at);
CREATE INDEX calls_status ON calls (status, inserted_at);
CREATE INDEX calls_user ON calls (user_id, inserted_at);
CREATE INDEX calls_provider ON calls (provider_id, inserted_at);
CREATE INDEX calls_customer ON calls (customer_id);
CREATE INDEX calls_access_link ON calls (access_link_id);

-- Files uploaded to a call; the bytes live under `<data_dir>/files/<tenant>/<call_id>/<id>`.
CREATE TABLE call_files (
    id           TEXT PRIMARY KEY,
    call_id      TEXT NOT NULL REFERENCES calls (id),
    filename     TEXT NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL CHECK (size >= 0),
    uploaded_by  TEXT REFERENCES users (id),
    inserted_at  TEXT NOT NULL
) STRICT;
CREATE INDEX call_files_call ON call_files (call_id, inserted_at);

CREATE TABLE call_manager_notes (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL REFERENCES calls (id),
    note        TEXT NOT NULL CHECK (length(note) BETWEEN 1 AND 5000),
    author_id   TEXT NOT NULL REFERENCES users (id),
    inserted_at TEXT NOT NULL
) STRICT;
CREATE INDEX call_manager_notes_call ON call_manager_notes (call_id, inserted_at);

-- Tags form a tree; a tag with children cannot be deleted (RESTRICT), and the code
-- refuses a parent that would make a cycle. Names are unique among siblings.
CREATE TABLE tags (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    color       TEXT NOT NULL DEFAULT '#6b7280' CHECK (color GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    parent_id   TEXT REFERENCES tags (id) ON DELETE RESTRICT,
    inserted_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CHECK (parent_id IS NULL OR parent_id <> id)
) STRICT;
CREATE UNIQUE INDEX tags_sibling_name ON tags (coalesce(parent_id, ''), lower(name));
CREATE INDEX tags_parent ON tags (parent_id);

-- Deleting a tag takes it off the calls that carried it.
CREATE TABLE call_tags (
    call_id     TEXT NOT NULL REFERENCES calls (id),
    tag_id      TEXT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    inserted_at TEXT NOT NULL,
    PRIMARY KEY (call_id, tag_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX call_tags_tag ON call_tags (tag_id);

-- One rating per call, by the customer (public widget) or entered by staff.
CREATE TABLE evaluations (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL UNIQUE REFERENCES calls (id),
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment     TEXT,
    created_by  TEXT REFERENCES users (id),
    inserted_at TEXT NOT NULL
) STRICT;
CREATE INDEX evaluations_inserted ON evaluations (inserted_at);
