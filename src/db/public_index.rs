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
        Ok(self.get(&slug).await?.map(|db| (slug, db)))
    }
}
