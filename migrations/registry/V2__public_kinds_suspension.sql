-- Public identifiers of §7: calendar-feed tokens (§7.2), booking-page and manage-link tokens
-- (§7.3) reach the server without a tenant header, like access-link tokens and call ids.
-- SQLite cannot change a CHECK constraint in place, so the index table is rebuilt.
CREATE TABLE public_index_v2 (
    public_id   TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('access_link', 'call', 'calendar_feed', 'booking', 'manage')),
    tenant_slug TEXT NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE,
    inserted_at TEXT NOT NULL
) STRICT;
INSERT INTO public_index_v2 (public_id, kind, tenant_slug, inserted_at)
    SELECT public_id, kind, tenant_slug, inserted_at FROM public_index;
DROP TABLE public_index;
ALTER TABLE public_index_v2 RENAME TO public_index;
CREATE INDEX public_index_tenant ON public_index (tenant_slug);

-- A suspended tenant (§7.6) keeps its data but answers 403 `Tenant suspended`.
ALTER TABLE tenants ADD COLUMN suspended_at TEXT;
