//! `GET /api/v1/appointments/:id/ics` (attendant, the visibility of §4.5), the user's
//! feed token (`POST`/`DELETE /api/v1/users/me/calendar-feed`) and the public feed
//! `GET /calendar/<token>.ics`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Visibility;
use crate::auth::min;
use crate::auth::token::{hash_token, random_token};
use crate::db::PublicKind;
use crate::error::ApiError;
use crate::http::auth::Auth;
use crate::http::extract::Path;
use crate::http::{Data, ErrorBody, created};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(appointment_ics))
        .routes(routes!(create_feed, delete_feed))
        .routes(routes!(feed))
}

/// How far back the feed reaches.
const FEED_DAYS_BACK: i64 = 30;
/// The most events one feed lists.
const FEED_LIMIT: i64 = 2000;

fn calendar_response(body: String, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// The appointment as an iCalendar file (one `VEVENT`, `UID:<id>@voki`).
#[utoipa::path(get, path = "/api/v1/appointments/{id}/ics", tag = "appointments", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "text/calendar", content_type = "text/calendar"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn appointment_ics(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> Result<Response, ApiError> {
    let viewer = Visibility::of(&auth.user);
    let body = auth
        .db()
        .read(move |conn| {
            let appointment = crate::appointments::store::find_visible(conn, &id.to_string(), &viewer)?;
            let event = super::event_of(conn, appointment)?;
            super::appointment_ics(&event, None)
        })
        .await?;
    Ok(calendar_response(body, &format!("{id}.ics")))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedUrl {
    /// `<public_url>/calendar/<token>.ics`, shown once.
    url: String,
}

/// A new feed URL for one's own appointments; any URL given before stops working.
#[utoipa::path(post, path = "/api/v1/users/me/calendar-feed", tag = "users", security(("bearer" = [])),
    responses((status = 201, body = Data<FeedUrl>), (status = 401, body = ErrorBody)))]
async fn create_feed(
    State(state): State<AppState>,
    auth: Auth<min::Attendant>,
) -> Result<(StatusCode, Json<Data<FeedUrl>>), ApiError> {
    let token = random_token();
    let token_hash = hash_token(&token);
    // Index first, tenant row second (§4.7): a resolvable token always has its row.
    state
        .tenants
        .register_public(PublicKind::CalendarFeed, vec![token_hash.clone()], &auth.tenant.slug)
        .await?;
    let user_id = auth.user.id.clone();
    let new_hash = token_hash.clone();
    let written = auth
        .db()
        .write(move |conn| {
            let old = feed_hash(conn, &user_id)?;
            conn.prepare_cached(
                "INSERT INTO calendar_feeds (user_id, token_hash, inserted_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, inserted_at = excluded.inserted_at",
            )?
            .execute(params![user_id, new_hash, crate::time::now_text()])?;
            Ok(old)
        })
        .await;
    match written {
        Ok(old) => {
            if let Some(old) = old {
                state.tenants.forget_public(vec![old]).await;
            }
        }
        Err(err) => {
            state.tenants.forget_public(vec![token_hash]).await;
            return Err(err);
        }
    }
    Ok(created(FeedUrl {
        url: format!("{}/calendar/{token}.ics", state.config.public_base()),
    }))
}

fn feed_hash(conn: &rusqlite::Connection, user_id: &str) -> Result<Option<String>, ApiError> {
    Ok(conn
        .prepare_cached("SELECT token_hash FROM calendar_feeds WHERE user_id = ?1")?
        .query_row([user_id], |row| row.get(0))
        .optional()?)
}

/// Revokes one's feed URL: it answers 404 from now on.
#[utoipa::path(delete, path = "/api/v1/users/me/calendar-feed", tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody)))]
async fn delete_feed(State(state): State<AppState>, auth: Auth<min::Attendant>) -> Result<StatusCode, ApiError> {
    let user_id = auth.user.id.clone();
    let old = auth
        .db()
        .write(move |conn| {
            let old = feed_hash(conn, &user_id)?;
            conn.prepare_cached("DELETE FROM calendar_feeds WHERE user_id = ?1")?
                .execute([&user_id])?;
            Ok(old)
        })
        .await?;
    if let Some(old) = old {
        state.tenants.forget_public(vec![old]).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The feed of a user (public, by its token): their appointments from 30 days ago on,
/// cancelled ones as `STATUS:CANCELLED`. An unknown or revoked token → 404.
#[utoipa::path(get, path = "/calendar/{file}", tag = "calendar",
    params(("file" = String, Path, description = "`<token>.ics`")),
    responses((status = 200, description = "text/calendar", content_type = "text/calendar"),
        (status = 404, body = ErrorBody)))]
async fn feed(
    State(state): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("Calendar feed not found".into());
    let token = file
        .strip_suffix(".ics")
        .filter(|t| !t.is_empty())
        .ok_or_else(not_found)?;
    let token_hash = hash_token(token);
    let (_, db) = state
        .tenants
        .resolve_public(PublicKind::CalendarFeed, &token_hash)
        .await?
        .ok_or_else(not_found)?;
    let body = db
        .read(move |conn| {
            let user: Option<(String, String)> = conn
                .prepare_cached(
                    "SELECT u.id, u.name FROM calendar_feeds f JOIN users u ON u.id = f.user_id
                     WHERE f.token_hash = ?1 AND u.active = 1",
                )?
                .query_row([&token_hash], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            let (user_id, user_name) = user.ok_or_else(not_found)?;
            let since = crate::time::format(crate::time::now() - chrono::Duration::days(FEED_DAYS_BACK));
            let ids: Vec<String> = conn
                .prepare_cached(
                    "SELECT id FROM appointments WHERE user_id = ?1 AND scheduled_at >= ?2
                     ORDER BY scheduled_at, id LIMIT ?3",
                )?
                .query_map(params![user_id, since, FEED_LIMIT], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let mut events = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(appointment) = crate::appointments::store::get(conn, &id)? {
                    events.push(super::event_of(conn, appointment)?);
                }
            }
            let company: String = conn
                .prepare_cached("SELECT name FROM company")?
                .query_row([], |row| row.get(0))?;
            super::feed_ics(&format!("{company} – {user_name}"), &events)
        })
        .await?;
    Ok(calendar_response(body, "voki.ics"))
}
