//! Forgotten passwords (SPEC §3): a single-use token valid 60 minutes is e-mailed; using
//! it sets a new password and ends every session of the user.

use axum::Json;
use axum::extract::State;
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::token::{hash_token, random_token};
use super::{password, sessions};
use crate::error::{ApiError, FieldErrors};
use crate::http::extract::{JsonBody, Wrapped};
use crate::http::rate_limit::ClientIp;
use crate::http::{Data, ErrorBody, Flag, flag};
use crate::state::AppState;
use crate::time;
use crate::users;
use crate::validation;

const RESET_TTL_MINUTES: i64 = 60;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ForgotInput {
    email: Option<String>,
    tenant: Option<String>,
}

impl Wrapped for ForgotInput {
    const KEYS: &'static [&'static str] = &[];
}

/// Always answers `{"sent": true}` at once, whether or not the tenant or the address
/// exists: the lookup and the e-mail happen after the answer, so neither the body nor the
/// time tells anything. For an active user a reset link is e-mailed; it replaces every
/// link sent before.
#[utoipa::path(post, path = "/api/auth/forgot-password", tag = "auth", request_body = ForgotInput,
    responses((status = 200, body = Data<Flag>), (status = 429, body = ErrorBody)))]
pub async fn forgot_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(input): JsonBody<ForgotInput>,
) -> Result<Json<Data<Flag>>, ApiError> {
    let email = input.email.unwrap_or_default().trim().to_string();
    state.limits.auth(ip, &email)?;
    let slug = input.tenant.unwrap_or_default().trim().to_string();
    tokio::spawn(async move {
        if let Err(err) = send_reset_link(&state, &slug, email).await {
            tracing::error!(tenant = %slug, error = %err, "forgot-password failed");
        }
    });
    Ok(flag("sent"))
}

async fn send_reset_link(state: &AppState, slug: &str, email: String) -> Result<(), ApiError> {
    let Some(db) = state.tenants.get(slug).await? else {
        return Ok(());
    };
    let token = random_token();
    let link = format!(
        "{}/reset-password?tenant={slug}&token={token}",
        state.config.public_base()
    );
    let sealer = state.keys.outbox.clone();
    db.write(move |conn| {
        let Some(credentials) = users::store::credentials_by_email(conn, &email)? else { return Ok(()) };
        if !credentials.active {
            return Ok(());
        }
        let now = time::now();
        spend_pending(conn, &credentials.id, &time::format(now))?;
        conn.prepare_cached(
            "INSERT INTO password_resets (id, user_id, token_hash, expires_at, inserted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            Uuid::new_v4().to_string(),
            credentials.id,
            hash_token(&token),
            time::format(now + chrono::Duration::minutes(RESET_TTL_MINUTES)),
            time::format(now)
        ])?;
        crate::email::events::password_reset(conn, &sealer, &credentials.id, &link, RESET_TTL_MINUTES)?;
        Ok(())
    })
    .await
}

/// Every reset link of the user still pending stops working.
fn spend_pending(conn: &rusqlite::Connection, user_id: &str, now: &str) -> Result<(), ApiError> {
    conn.prepare_cached("UPDATE password_resets SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL")?
        .execute(params![user_id, now])?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetInput {
    tenant: Option<String>,
    token: Option<String>,
    password: Option<String>,
}

impl Wrapped for ResetInput {
    const KEYS: &'static [&'static str] = &[];
}

/// Sets a new password with a reset token; the token is then spent and every session of
/// the user ends. An unknown, used or expired token → 422 `token: ["is invalid or expired"]`.
#[utoipa::path(post, path = "/api/auth/reset-password", tag = "auth", request_body = ResetInput,
    responses((status = 200, body = Data<Flag>), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(input): JsonBody<ResetInput>,
) -> Result<Json<Data<Flag>>, ApiError> {
    let slug = input.tenant.unwrap_or_default().trim().to_string();
    state.limits.auth(ip, &format!("reset:{slug}"))?;
    let mut errors = FieldErrors::new();
    let token = input.token.filter(|t| !t.trim().is_empty());
    if token.is_none() {
        errors.add("token", "can't be blank");
    }
    let new_password = validation::password(&mut errors, "password", input.password.as_deref());
    errors.into_result()?;
    let invalid = || FieldErrors::single("token", "is invalid or expired");
    // Hashed before the tenant is looked up, so an unknown tenant costs the same time.
    let password_hash = password::hash(new_password.unwrap_or_default()).await?;
    let db = state.tenants.get(&slug).await?.ok_or_else(invalid)?;
    let token_hash = hash_token(token.as_deref().unwrap_or_default().trim());
    db.write(move |conn| {
        let now = time::now_text();
        let user_id: Option<String> = conn
            .prepare_cached(
                "SELECT r.user_id FROM password_resets r JOIN users u ON u.id = r.user_id
                 WHERE r.token_hash = ?1 AND r.used_at IS NULL AND r.expires_at > ?2 AND u.active = 1",
            )?
            .query_row(params![token_hash, now], |row| row.get(0))
            .optional()?;
        let user_id = user_id.ok_or_else(invalid)?;
        spend_pending(conn, &user_id, &now)?;
        let changes = users::store::UserChanges {
            password_hash: Some(password_hash),
            ..Default::default()
        };
        users::store::update(conn, &user_id, &changes)?;
        sessions::revoke_all(conn, &user_id, None)
    })
    .await?;
    Ok(flag("reset"))
}
