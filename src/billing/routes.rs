//! `GET /api/v1/billing/plan` (manager).

use axum::Json;
use axum::extract::State;
use chrono::Datelike;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Limits;
use crate::auth::min;
use crate::error::ApiError;
use crate::http::auth::Auth;
use crate::http::{Data, ErrorBody, ok};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(plan))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    pub active_users: i64,
    pub active_departments: i64,
    /// Calls in progress right now.
    pub active_calls: i64,
    /// Calls that arrived since the start of the current month (company time zone).
    pub calls_this_month: i64,
    /// Size of uploaded call files, in MiB (voki records no video).
    pub recording_storage_mb: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Plan {
    /// Always `self_hosted`.
    pub plan: &'static str,
    /// Always `active`.
    pub status: &'static str,
    /// `null` = unlimited.
    pub max_concurrent_calls: Option<i64>,
    pub max_users: Option<i64>,
    pub max_departments: Option<i64>,
    pub recording_enabled: bool,
    pub transcription_enabled: bool,
    pub analytics_enabled: bool,
    /// The current calendar month in the company time zone.
    pub current_period_start: String,
    pub current_period_end: String,
    pub usage: Usage,
}

/// The plan, its limits from the server configuration, and real usage.
#[utoipa::path(get, path = "/api/v1/billing/plan", tag = "company", security(("bearer" = [])),
    responses((status = 200, body = Data<Plan>), (status = 403, body = ErrorBody)))]
async fn plan(State(state): State<AppState>, auth: Auth<min::Manager>) -> Result<Json<Data<Plan>>, ApiError> {
    let limits = Limits::of(&state.config);
    let files_dir = state.tenants.data_dir().join("files").join(&auth.tenant.slug);
    let storage_bytes = tokio::task::spawn_blocking(move || folder_size(&files_dir))
        .await
        .map_err(ApiError::from_source)?;
    let plan = auth
        .db()
        .read(move |conn| {
            let zone = crate::company::store::timezone(conn)?;
            let today = crate::time::now().with_timezone(&zone).date_naive();
            let month_start = today.with_day(1).unwrap_or(today);
            let next_month = month_start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(month_start);
            let at_midnight = |day| crate::time::format(crate::time::start_of_day(zone, day));
            let (start, end) = (at_midnight(month_start), at_midnight(next_month));
            let (recording, transcription): (bool, bool) = conn
                .prepare_cached("SELECT recording_enabled, transcription_enabled FROM company")?
                .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            let calls_this_month: i64 = conn
                .prepare_cached("SELECT count(*) FROM calls WHERE inserted_at >= ?1 AND inserted_at < ?2")?
                .query_row([&start, &end], |row| row.get(0))?;
            Ok(Plan {
                plan: "self_hosted",
                status: "active",
                max_concurrent_calls: limits.max_concurrent_calls,
                max_users: limits.max_users,
                max_departments: limits.max_departments,
                recording_enabled: recording,
                transcription_enabled: transcription,
                analytics_enabled: true,
                current_period_start: start,
                current_period_end: end,
                usage: Usage {
                    active_users: super::active_users(conn)?,
                    active_departments: super::active_departments(conn)?,
                    active_calls: crate::calls::store::active_count(conn)?,
                    calls_this_month,
                    recording_storage_mb: i64::try_from(storage_bytes.div_ceil(1024 * 1024)).unwrap_or(i64::MAX),
                },
            })
        })
        .await?;
    Ok(ok(plan))
}

fn folder_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => folder_size(&entry.path()),
            Ok(_) => entry.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}
