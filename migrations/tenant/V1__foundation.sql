-- Foundation schema of one tenant: company settings, users and their sessions,
-- sectors, departments with members, and service providers.
-- Times are TEXT in one format only, `YYYY-MM-DDTHH:MM:SSZ`, so they sort and compare as text.

CREATE TABLE company (
    id                    TEXT PRIMARY KEY,
    singleton             INTEGER NOT NULL DEFAULT 1 UNIQUE CHECK (singleton = 1),
    name                  TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug                  TEXT NOT NULL,
    document              TEXT,
    document_type         TEXT CHECK (document_type IN ('cpf', 'cnpj')),
    email                 TEXT,
    phone                 TEXT,
    logo_url              TEXT,
    primary_color         TEXT NOT NULL DEFAULT '#6366f1',
    recording_enabled     INTEGER NOT NULL DEFAULT 0 CHECK (recording_enabled IN (0, 1)),
    transcription_enabled INTEGER NOT NULL DEFAULT 0 CHECK (transcription_enabled IN (0, 1)),
    mfa_required          INTEGER NOT NULL DEFAULT 0 CHECK (mfa_required IN (0, 1)),
    timezone              TEXT NOT NULL,
    welcome_message       TEXT,
    inserted_at           TEXT NOT NULL,
    updated_at            TEXT NOT NULL
) STRICT;

CREATE TABLE service_providers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    document    TEXT,
    email       TEXT,
    phone       TEXT,
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    inserted_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('attendant', 'supervisor', 'manager', 'owner')),
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    avatar_url    TEXT,
    locale        TEXT NOT NULL DEFAULT 'pt-BR',
    mfa_secret    TEXT,
    mfa_enabled   INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enabled IN (0, 1)),
    provider_id   TEXT REFERENCES service_providers (id) ON DELETE SET NULL,
    last_login_at TEXT,
    inserted_at   TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;
-- E-mail is unique per tenant regardless of case.
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
CREATE INDEX users_provider ON users (provider_id);

-- Refresh-token sessions. Only a hash of the token is stored. A family is the chain of
-- tokens produced by rotation from one login; reuse of a rotated token revokes the family.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT,
    inserted_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_family ON sessions (family_id);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE sectors (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description TEXT,
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    inserted_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE departments (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    identifier     TEXT NOT NULL UNIQUE CHECK (length(identifier) BETWEEN 1 AND 100),
    description    TEXT,
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    sector_id      TEXT REFERENCES sectors (id) ON DELETE SET NULL,
    max_queue_size INTEGER NOT NULL DEFAULT 0 CHECK (max_queue_size >= 0),
    max_wait_time  INTEGER NOT NULL DEFAULT 0 CHECK (max_wait_time >= 0),
    inserted_at    TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX departments_sector ON departments (sector_id);

CREATE TABLE department_members (
    department_id TEXT NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    inserted_at   TEXT NOT NULL,
    PRIMARY KEY (department_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX department_members_user ON department_members (user_id);
