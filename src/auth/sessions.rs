//! SQL for refresh-token sessions. Rotation: each refresh revokes the token it used and
//! issues the next of the same family; presenting a revoked token again means it was
//! stolen or replayed, so the whole family is revoked (SPEC §3).

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::token::{REFRESH_TTL_SECS, hash_token, new_refresh_token};
use crate::db::WriteTx;
use crate::error::ApiError;
use crate::time;

/// A session just created: its id (the access token's `sid`) and the refresh token,
/// which exists only here and in the response.
pub struct NewSession {
    pub id: String,
    pub refresh_token: String,
}

pub fn create(conn: &Connection, tenant: &str, user_id: &str, family_id: Option<&str>) -> Result<NewSession, ApiError> {
    let id = Uuid::new_v4().to_string();
    let refresh_token = new_refresh_token(tenant);
    let now = time::now();
    conn.prepare_cached(
        "INSERT INTO sessions (id, family_id, user_id, token_hash, expires_at, inserted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id,
        family_id.unwrap_or(&id),
        user_id,
        hash_token(&refresh_token),
        time::format(now + chrono::Duration::seconds(REFRESH_TTL_SECS)),
        time::format(now)
    ])?;
    Ok(NewSession { id, refresh_token })
}

/// The outcome of presenting a refresh token.
pub enum Rotation {
    /// The token was valid: here is the next one, for this user.
    Rotated { user_id: String, session: NewSession },
    /// Unknown, expired, revoked (the family is now revoked too) or the user is inactive.
    Refused,
}

pub fn rotate(tx: &WriteTx, tenant: &str, refresh_token: &str) -> Result<Rotation, ApiError> {
    let found = tx
        .prepare_cached(
            "SELECT s.id, s.family_id, s.user_id, s.expires_at, s.revoked_at, u.active
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1",
        )?
        .query_row([hash_token(refresh_token)], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, bool>(5)?,
            ))
        })
        .optional()?;
    let Some((id, family_id, user_id, expires_at, revoked_at, active)) = found else {
        return Ok(Rotation::Refused);
    };
    let now = time::now_text();
    if revoked_at.is_some() {
        tx.prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE family_id = ?1 AND revoked_at IS NULL")?
            .execute(params![family_id, now])?;
        revoked(tx, &user_id)?;
        tracing::warn!(tenant, user_id, "refresh token reused; session family revoked");
        return Ok(Rotation::Refused);
    }
    if expires_at <= now || !active {
        return Ok(Rotation::Refused);
    }
    tx.prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    let session = create(tx, tenant, &user_id, Some(&family_id))?;
    Ok(Rotation::Rotated { user_id, session })
}

/// Revokes the session of one refresh token (logout); unknown tokens are ignored.
pub fn revoke_token(tx: &WriteTx, refresh_token: &str) -> Result<(), ApiError> {
    let user_id: Option<String> = tx
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL RETURNING user_id",
        )?
        .query_row(params![hash_token(refresh_token), time::now_text()], |row| row.get(0))
        .optional()?;
    if let Some(user_id) = user_id {
        revoked(tx, &user_id)?;
    }
    Ok(())
}

/// Whether the session an access token came from (`sid`) is still alive: its family has
/// a session neither revoked nor expired. A refresh rotates the session within the
/// family, so the access token issued just before stays good; a logout, a logout-all,
/// a password change or reset, or a replayed refresh token ends the family, and with it
/// every access token issued from it.
pub fn is_live(conn: &Connection, sid: &str) -> Result<bool, ApiError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM sessions WHERE family_id = (SELECT family_id FROM sessions WHERE id = ?1)
                 AND revoked_at IS NULL AND expires_at > ?2 LIMIT 1",
        )?
        .query_row(params![sid, time::now_text()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Once the revocation commits: cached session checks are forgotten and the user's
/// sockets check their session again.
fn revoked(tx: &WriteTx, user_id: &str) -> Result<(), ApiError> {
    tx.emit(crate::events::DomainEvent::UserAccessChanged {
        user_id: user_id.to_string(),
    })
}

/// Revokes every session of `user_id` except `keep` (the caller's own, on a password change).
pub fn revoke_all(tx: &WriteTx, user_id: &str, keep: Option<&str>) -> Result<(), ApiError> {
    tx.prepare_cached(
        "UPDATE sessions SET revoked_at = ?2
         WHERE user_id = ?1 AND revoked_at IS NULL AND family_id NOT IN
             (SELECT family_id FROM sessions WHERE id = coalesce(?3, ''))",
    )?
    .execute(params![user_id, time::now_text(), keep])?;
    revoked(tx, user_id)?;
    Ok(())
}
