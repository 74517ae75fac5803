//! The registry's index of public identifiers (SPEC §4.7): access-link tokens and call
//! ids reach the server without a tenant header, so each is registered with its tenant.
//! An entry is written before the tenant row it names is committed; an entry whose row
//! never got committed simply resolves to nothing (404), and the writer removes it again
//! on a clean failure.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};

use super::{Database, Tenants};
use crate::error::ApiError;

/// What a public identifier stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKind {
    AccessLink,
    Call,
    /// A user's calendar-feed token, stored hashed (§7.2).
    CalendarFeed,
    /// A department's public booking-page token (§7.3).
    Booking,
    /// An appointment's manage-link token (§7.3).
    Manage,
}

impl PublicKind {
    fn as_str(self) -> &'static str {
        match self {
            PublicKind::AccessLink => "access_link",
            PublicKind::Call => "call",
            PublicKind::CalendarFeed => "calendar_feed",
            PublicKind::Booking => "booking",
            PublicKind::Manage => "manage",
        }
    }
}

impl Tenants {
    /// Registers `ids` of `kind` as belonging to tenant `slug`, in one registry write.
    pub async fn register_public(&self, kind: PublicKind, ids: Vec<String>, slug: &str) -> Result<(), ApiError> {
        let slug = slug.to_string();
        self.registry()
            .write(move |conn| {
                let mut insert = conn.prepare_cached(
                    "INSERT INTO public_index (public_id, kind, tenant_slug, inserted_at) VALUES (?1, ?2, ?3, ?4)",
                )?;
                let now = crate::time::now_text();
                for id in &ids {
                    insert.execute(params![id, kind.as_str(), slug, now])?;
                }
                Ok(())
            })
            .await
    }

    /// Removes entries whose tenant rows were never written (a refused create). Best
    /// effort: a leftover entry only ever answers 404.
    pub async fn forget_public(&self, ids: Vec<String>) {
        let removed = self
            .registry()
            .write(move |conn| {
                let mut delete = conn.prepare_cached("DELETE FROM public_index WHERE public_id = ?1")?;
                for id in &ids {
                    delete.execute([id])?;
                }
                Ok(())
            })
            .await;
        if let Err(err) = removed {
            tracing::warn!(error = %err, "could not remove public index entries");
        }
    }

    /// The tenant slug and database that public identifier `id` of `kind` belongs to.
    pub async fn resolve_public(
        &self,
        kind: PublicKind,
        id: &str,
    ) -> Result<Option<(String, Arc<Database>)>, ApiError> {
        let id = id.to_string();
        let slug = self
            .registry()
            .read(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT tenant_slug FROM public_index WHERE public_id = ?1 AND kind = ?2")?
                    .query_row(params![id, kind.as_str()], |row| row.get::<_, String>(0))
                    .optional()?)
            })
            .await?;
        let Some(slug) = slug else {
            return Ok(None);
        };
        // A suspended tenant's public pages answer as if the identifier did not exist.
        if self.is_suspended(&slug).await? {
            return Ok(None);
        }
        Ok(self.open_tenant(&slug, true).await?.map(|db| (slug, db)))
    }

    /// Every public identifier of tenant `slug` (for `voki tenant export`).
    pub async fn public_entries(&self, slug: &str) -> Result<Vec<PublicEntry>, ApiError> {
        let slug = slug.to_string();
        self.registry()
            .read(move |conn| {
                let rows = conn
                    .prepare_cached(
                        "SELECT public_id, kind, inserted_at FROM public_index WHERE tenant_slug = ?1 ORDER BY public_id",
                    )?
                    .query_map([slug], |row| {
                        Ok(PublicEntry {
                            public_id: row.get(0)?,
                            kind: row.get(1)?,
                            inserted_at: row.get(2)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
    }

    /// Registers an imported tenant whose file is already in place: its registry row, its
    /// public identifiers and its schedule, in one transaction. An identifier already
    /// registered to another tenant refuses the whole import.
    pub async fn register_imported(
        &self,
        slug: &str,
        name: &str,
        inserted_at: &str,
        entries: Vec<PublicEntry>,
    ) -> Result<(), ApiError> {
        let (slug, name, inserted_at) = (slug.to_string(), name.to_string(), inserted_at.to_string());
        self.registry()
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO tenants (slug, name, inserted_at) VALUES (?1, ?2, ?3)",
                    params![slug, name, inserted_at],
                )
                .map_err(crate::error::unique_violation_as("slug"))?;
                let mut insert = conn.prepare_cached(
                    "INSERT INTO public_index (public_id, kind, tenant_slug, inserted_at) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for entry in &entries {
                    insert
                        .execute(params![entry.public_id, entry.kind, slug, entry.inserted_at])
                        .map_err(crate::error::unique_violation_as("public_id"))?;
                }
                conn.execute(
                    "INSERT INTO tenant_state (tenant_slug, next_due_at, schema_version) VALUES (?1, ?2, ?3)",
                    params![slug, crate::time::now_text(), super::tenant_schema_version()],
                )?;
                Ok(())
            })
            .await
    }
}

/// One row of the public index, as a tenant archive carries it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PublicEntry {
    pub public_id: String,
    pub kind: String,
    pub inserted_at: String,
}
