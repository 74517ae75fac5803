//! `/api/v1/analytics` (manager). Every report takes `date_from`, `date_to`,
//! `department_id` and `provider_id`; dates are read in the company time zone.

use axum::Json;
use chrono_tz::Tz;
use rusqlite::Connection;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::store::{self, Granularity, Selection};
use super::{AgentRow, HourRow, Overview, ProviderRow, TrendRow};
use crate::auth::min;
use crate::db::query::DateRange;
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::Query;
use crate::http::{Data, ErrorBody, Flag, flag, ok};
use crate::state::AppState;

/// Days a report looks back when `date_from` is not given (the hourly one: 7).
const DEFAULT_DAYS: u64 = 30;
const HOURLY_DEFAULT_DAYS: u64 = 7;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(overview))
        .routes(routes!(hourly))
        .routes(routes!(agents))
        .routes(routes!(providers))
        .routes(routes!(trends))
        .routes(routes!(refresh_views))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Calls that joined a queue from this day (`YYYY-MM-DD`, company time zone) or RFC
    /// 3339 time; default 30 days ago (hourly: 7).
    date_from: Option<String>,
    /// Up to and including this day (or time); default today.
    date_to: Option<String>,
    department_id: Option<Uuid>,
    /// Calls attributed to this service provider.
    provider_id: Option<Uuid>,
}

impl ReportQuery {
    /// The calls the report covers, and the company time zone that the dates were read in.
    fn selection(&self, conn: &Connection, default_days: u64) -> Result<(Selection, Tz), ApiError> {
        let zone = crate::company::store::timezone(conn)?;
        let (from, until) = DateRange::parse(self.date_from.as_deref(), self.date_to.as_deref())?
            .or_last_days(default_days, zone)
            .span(zone)
            .ok_or_else(|| ApiError::internal("report period without bounds"))?;
        let selection = Selection {
            from,
            until,
            department_id: self.department_id.map(|id| id.to_string()),
            provider_id: self.provider_id.map(|id| id.to_string()),
        };
        Ok((selection, zone))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// `day` (default), `week` (starting Monday) or `month`. The default period is the
    /// last 30 days, 12 weeks or 365 days.
    granularity: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/analytics/overview", tag = "analytics", security(("bearer" = [])),
    params(ReportQuery),
    responses((status = 200, body = Data<Overview>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn overview(
    auth: Auth<min::Manager>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<Data<Overview>>, ApiError> {
    Ok(ok(auth
        .db()
        .read_long(move |conn| store::overview(conn, &query.selection(conn, DEFAULT_DAYS)?.0))
        .await?))
}

/// Always 24 rows, hours 0–23 of the company time zone.
#[utoipa::path(get, path = "/api/v1/analytics/hourly", tag = "analytics", security(("bearer" = [])),
    params(ReportQuery),
    responses((status = 200, body = Data<Vec<HourRow>>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn hourly(
    auth: Auth<min::Manager>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<Data<Vec<HourRow>>>, ApiError> {
    Ok(ok(auth
        .db()
        .read_long(move |conn| {
            let (selection, zone) = query.selection(conn, HOURLY_DEFAULT_DAYS)?;
            store::hourly(conn, &selection, zone)
        })
        .await?))
}

/// The calls assigned to each agent, busiest first; one row per agent and the service
/// provider the calls were attributed to.
#[utoipa::path(get, path = "/api/v1/analytics/agents", tag = "analytics", security(("bearer" = [])),
    params(ReportQuery),
    responses((status = 200, body = Data<Vec<AgentRow>>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn agents(
    auth: Auth<min::Manager>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<Data<Vec<AgentRow>>>, ApiError> {
    Ok(ok(auth
        .db()
        .read_long(move |conn| store::agents(conn, &query.selection(conn, DEFAULT_DAYS)?.0))
        .await?))
}

/// The calls attributed to each service provider (the agent's provider when the call was
/// assigned), busiest first.
#[utoipa::path(get, path = "/api/v1/analytics/providers", tag = "analytics", security(("bearer" = [])),
    params(ReportQuery),
    responses((status = 200, body = Data<Vec<ProviderRow>>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn providers(
    auth: Auth<min::Manager>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<Data<Vec<ProviderRow>>>, ApiError> {
    Ok(ok(auth
        .db()
        .read_long(move |conn| store::providers(conn, &query.selection(conn, DEFAULT_DAYS)?.0))
        .await?))
}

/// One row per day, week or month of the period, empty periods included.
#[utoipa::path(get, path = "/api/v1/analytics/trends", tag = "analytics", security(("bearer" = [])),
    params(ReportQuery, TrendQuery),
    responses((status = 200, body = Data<Vec<TrendRow>>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn trends(
    auth: Auth<min::Manager>,
    Query(query): Query<ReportQuery>,
    Query(trend): Query<TrendQuery>,
) -> Result<Json<Data<Vec<TrendRow>>>, ApiError> {
    let granularity = match trend.granularity.as_deref().filter(|g| !g.is_empty()) {
        None => Granularity::Day,
        Some(text) => Granularity::parse(text).ok_or_else(|| FieldErrors::single("granularity", "is invalid"))?,
    };
    Ok(ok(auth
        .db()
        .read_long(move |conn| {
            let (selection, zone) = query.selection(conn, granularity.default_days())?;
            store::trends(conn, &selection, zone, granularity)
        })
        .await?))
}

/// Kept for compatibility: the figures are computed live, so there is nothing to refresh.
#[utoipa::path(post, path = "/api/v1/analytics/refresh-views", tag = "analytics", security(("bearer" = [])),
    responses((status = 200, body = Data<Flag>), (status = 403, body = ErrorBody)))]
async fn refresh_views(_auth: Auth<min::Manager>) -> Json<Data<Flag>> {
    flag("refreshed")
}
