-- What the background loops know about each tenant without opening its file (§7.6):
-- when something is next due there (a reminder, an overdue flag, a link expiry, a queue
-- timeout, a webhook retry), and the schema version its file was last migrated to, so a
-- start with thousands of tenants opens only the ones that need a migration or have work.
CREATE TABLE tenant_state (
    tenant_slug    TEXT PRIMARY KEY REFERENCES tenants (slug) ON DELETE CASCADE,
    -- NULL: nothing is due until the tenant is used again.
    next_due_at    TEXT,
    -- When the sweeper last looked; a file written after it (a crash between a write and
    -- the next sweep, another process) is looked at again at startup.
    swept_at       TEXT,
    schema_version INTEGER NOT NULL DEFAULT 0 CHECK (schema_version >= 0)
) STRICT;
CREATE INDEX tenant_state_due ON tenant_state (next_due_at) WHERE next_due_at IS NOT NULL;
