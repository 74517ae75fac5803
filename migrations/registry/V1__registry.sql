-- The registry: which tenants exist, and which public identifiers (access-link tokens,
-- call ids) belong to which tenant, so unauthenticated requests find their tenant file.
CREATE TABLE tenants (
    slug        TEXT PRIMARY KEY CHECK (slug GLOB '[a-z0-9]*' AND length(slug) BETWEEN 2 AND 63),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    inserted_at TEXT NOT NULL
) STRICT;

CREATE TABLE public_index (
    public_id   TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('access_link', 'call')),
    tenant_slug TEXT NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE,
    inserted_at TEXT NOT NULL
) STRICT;
