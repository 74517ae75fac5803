//! `/api/v1/evaluations` (attendant). Attendants see the evaluations of the calls they
//! see (their departments' and their own); supervisors and up see all.

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::store::{self, EvaluationFilters};
use super::{Evaluation, EvaluationStats};
use crate::auth::Visibility;
use crate::auth::min;
use crate::db::query::DateRange;
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Query, Wrapped, body_id};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, created, ok};
use crate::state::AppState;

/// Days `GET /evaluations/stats` looks back when `date_from` is not given.
const STATS_DEFAULT_DAYS: u64 = 30;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_evaluations, create_evaluation))
        .routes(routes!(evaluation_stats))
        .routes(routes!(get_evaluation))
}

/// A rating entered by staff; wrapped as `{"evaluation": {...}}` or bare.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EvaluationInput {
    call_id: Option<String>,
    /// 1 to 5.
    rating: Option<i64>,
    comment: Option<String>,
}

impl Wrapped for EvaluationInput {
    const KEYS: &'static [&'static str] = &["evaluation"];
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvaluationQuery {
    /// 1 to 5.
    rating: Option<i64>,
    department_id: Option<Uuid>,
    /// The agent of the call.
    user_id: Option<Uuid>,
    /// `YYYY-MM-DD` (company time zone) or RFC 3339.
    date_from: Option<String>,
    /// `YYYY-MM-DD` (that whole day) or RFC 3339.
    date_to: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/evaluations", tag = "evaluations", security(("bearer" = [])),
    params(PagingParams, EvaluationQuery),
    responses((status = 200, body = Page<Evaluation>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_evaluations(
    auth: Auth<min::Attendant>,
    paging: Paging,
    Query(query): Query<EvaluationQuery>,
) -> Result<Json<Page<Evaluation>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    let scope = Visibility::of(&auth.user);
    Ok(Json(
        auth.db()
            .read(move |conn| {
                let filters = EvaluationFilters {
                    rating: query.rating,
                    department_id: query.department_id.map(|id| id.to_string()),
                    user_id: query.user_id.map(|id| id.to_string()),
                    dates: DateRange::parse(query.date_from.as_deref(), query.date_to.as_deref())?,
                };
                store::list(conn, &scope, &filters, &order)
            })
            .await?,
    ))
}

/// Count, average, distribution and satisfaction rate (share of ratings ≥ 4) of the
/// evaluations in `[date_from, date_to]`: by default the last 30 days up to today.
#[utoipa::path(get, path = "/api/v1/evaluations/stats", tag = "evaluations", security(("bearer" = [])),
    params(EvaluationQuery),
    responses((status = 200, body = Data<EvaluationStats>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn evaluation_stats(
    auth: Auth<min::Attendant>,
    Query(query): Query<EvaluationQuery>,
) -> Result<Json<Data<EvaluationStats>>, ApiError> {
    let scope = Visibility::of(&auth.user);
    Ok(ok(auth
        .db()
        .read_long(move |conn| {
            let zone = crate::company::store::timezone(conn)?;
            let filters = EvaluationFilters {
                rating: query.rating,
                department_id: query.department_id.map(|id| id.to_string()),
                user_id: query.user_id.map(|id| id.to_string()),
                dates: DateRange::parse(query.date_from.as_deref(), query.date_to.as_deref())?
                    .or_last_days(STATS_DEFAULT_DAYS, zone),
            };
            store::stats(conn, &scope, &filters)
        })
        .await?))
}

#[utoipa::path(get, path = "/api/v1/evaluations/{id}", tag = "evaluations", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Data<Evaluation>), (status = 404, body = ErrorBody)))]
async fn get_evaluation(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> Result<Json<Data<Evaluation>>, ApiError> {
    let scope = Visibility::of(&auth.user);
    Ok(ok(auth
        .db()
        .read(move |conn| store::find_visible(conn, &scope, &id.to_string()))
        .await?))
}

/// Enters a customer's rating for a completed call the caller can see (a call they
/// cannot see does not exist for them: 422 on `call_id`). One per call: 409 after that.
#[utoipa::path(post, path = "/api/v1/evaluations", tag = "evaluations", security(("bearer" = [])), request_body = EvaluationInput,
    responses((status = 201, body = Data<Evaluation>), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_evaluation(
    auth: Auth<min::Attendant>,
    JsonBody(input): JsonBody<EvaluationInput>,
) -> Result<(StatusCode, Json<Data<Evaluation>>), ApiError> {
    let mut errors = FieldErrors::new();
    let call_id = input.call_id.as_deref().filter(|c| !c.trim().is_empty());
    if call_id.is_none() {
        errors.add("call_id", "can't be blank");
    }
    let call_id = body_id(&mut errors, "call_id", call_id).map(|id| id.to_string());
    let rating = store::rating(&mut errors, input.rating, input.comment.as_deref());
    errors.into_result()?;
    let (Some(call_id), Some(rating)) = (call_id, rating) else {
        return Err(ApiError::internal("validated evaluation fields missing"));
    };
    let scope = Visibility::of(&auth.user);
    let author = auth.user.id.clone();
    let evaluation = auth
        .db()
        .write(move |conn| {
            let call = match crate::calls::store::find_visible(conn, &scope, &call_id) {
                Err(ApiError::NotFound(_)) => return Err(FieldErrors::single("call_id", "does not exist")),
                found => found?,
            };
            store::insert(conn, &call, &rating, Some(&author))
        })
        .await?;
    Ok(created(evaluation))
}
