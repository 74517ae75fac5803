//! `/api/v1/call/*`: the customer's side, public. Every unusable link answers the same
//! 404 `Invalid or expired access link`; an unknown call id answers 404 `Call not found`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ice::{IceConfig, ice_config};
use crate::access_links::store::{self as links, invalid_link};
use crate::auth::token::{self, TokenKind};
use crate::calls::queue::OnlineAgents;
use crate::calls::queue::{self, Queue};
use crate::calls::rules::{CallAction, CallStatus};
use crate::calls::store::{self as calls, Call, NewCall};
use crate::customers::{CustomerDetails, match_or_create};
use crate::db::PublicKind;
use crate::db::Tenant;
use crate::error::{ApiError, FieldErrors};
use crate::evaluations::{self, Evaluation};
use crate::http::extract::{JsonBody, Path, Query, Wrapped};
use crate::http::{Data, ErrorBody, created, ok};
use crate::state::AppState;
use crate::validation;

/// How long a customer's `websocket_token` is valid.
const WEBSOCKET_TOKEN_SECS: i64 = 4 * 3600;
/// Access-link tokens are 43 characters; anything much longer is not looked up.
const MAX_TOKEN_LEN: usize = 128;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(validate_link))
        .routes(routes!(join_queue))
        .routes(routes!(call_status))
        .routes(routes!(leave_queue))
        .routes(routes!(evaluate_call))
        .routes(routes!(turn_credentials))
}

/// What the customer page shows before joining.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkInfo {
    valid: bool,
    department_id: String,
    department_name: String,
    company_name: String,
    company_logo_url: Option<String>,
    primary_color: String,
    welcome_message: Option<String>,
    /// Customers waiting in the department now.
    queue_size: i64,
    /// Seconds; see the estimator in `docs/patient-flow.md`.
    estimated_wait_time: i64,
    online_agents: i64,
    /// Pre-filled from the link, for the form.
    customer_name: Option<String>,
    customer_email: Option<String>,
    customer_phone: Option<String>,
}

/// The join form; fields left out are taken from the link's pre-filled customer.
#[derive(Debug, Deserialize, ToSchema)]
pub struct JoinInput {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// Why the customer calls.
    reason: Option<String>,
}

impl Wrapped for JoinInput {
    const KEYS: &'static [&'static str] = &[];
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JoinedQueue {
    call_id: String,
    status: CallStatus,
    /// 1 = next.
    position: i64,
    estimated_wait_time: i64,
    /// A JWT for the socket topic `call:<call_id>` only, valid 4 hours.
    websocket_token: String,
    websocket_url: String,
}

/// Where a call stands; `position` and `estimated_wait_time` only while it is queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStatus {
    call_id: String,
    status: CallStatus,
    position: Option<i64>,
    estimated_wait_time: Option<i64>,
    /// The agent, once assigned.
    user_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EvaluateInput {
    /// 1 to 5.
    rating: Option<i64>,
    comment: Option<String>,
}

impl Wrapped for EvaluateInput {
    const KEYS: &'static [&'static str] = &["evaluation"];
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TurnQuery {
    /// The call the credentials are for; it labels the TURN username.
    call_id: Option<Uuid>,
}

/// The tenant of an access-link token, or the invalid-link 404.
async fn link_tenant(state: &AppState, token: &str) -> Result<Tenant, ApiError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid_link());
    }
    let (slug, db) = state
        .tenants
        .resolve_public(PublicKind::AccessLink, token)
        .await?
        .ok_or_else(invalid_link)?;
    Ok(Tenant { slug, db })
}

/// The tenant of a call id, or 404 `Call not found`.
async fn call_tenant(state: &AppState, call_id: Uuid) -> Result<Tenant, ApiError> {
    let (slug, db) = state
        .tenants
        .resolve_public(PublicKind::Call, &call_id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("Call"))?;
    Ok(Tenant { slug, db })
}

/// `ws(s)://<public host>/socket/websocket`.
fn websocket_url(base: &str) -> String {
    let socket_base = if let Some(host) = base.strip_prefix("https://") {
        format!("wss://{host}")
    } else if let Some(host) = base.strip_prefix("http://") {
        format!("ws://{host}")
    } else {
        base.to_string()
    };
    format!("{socket_base}/socket/websocket")
}

fn queue_status(conn: &Connection, call: &Call, online: &OnlineAgents) -> Result<QueueStatus, ApiError> {
    let position = queue::position(conn, call)?;
    let estimated_wait_time = match position {
        Some(position) => Some(Queue::of_department(conn, &call.department_id, online)?.estimated_wait(position)),
        None => None,
    };
    Ok(QueueStatus {
        call_id: call.id.clone(),
        status: call.status,
        position,
        estimated_wait_time,
        user_name: call.user_name.clone(),
    })
}

/// Checks a link before the customer joins: department, company branding, queue, and
/// the pre-filled customer fields. Every unusable link (unknown, used, expired,
/// cancelled, department inactive) → the same 404.
#[utoipa::path(get, path = "/api/v1/call/{token}/validate", tag = "widget", params(("token" = String, Path)),
    responses((status = 200, body = Data<LinkInfo>), (status = 404, body = ErrorBody)))]
async fn validate_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Data<LinkInfo>>, ApiError> {
    let tenant = link_tenant(&state, &token).await?;
    let base = state.config.public_base();
    let online = state.hub.online_in(&tenant.slug);
    let info = tenant
        .db
        .read(move |conn| {
            let link = links::usable(conn, &base, &token)?;
            let company = crate::company::store::get(conn, None)?;
            let queue = Queue::of_department(conn, &link.department_id, &online)?;
            Ok(LinkInfo {
                valid: true,
                department_id: link.department_id,
                department_name: link.department_name,
                company_name: company.name,
                company_logo_url: company.logo_url,
                primary_color: company.primary_color,
                welcome_message: company.welcome_message,
                queue_size: queue.size,
                estimated_wait_time: queue.estimated_wait(queue.size),
                online_agents: queue.online_agents,
                customer_name: link.customer_name,
                customer_email: link.customer_email,
                customer_phone: link.customer_phone,
            })
        })
        .await?;
    Ok(ok(info))
}

/// Joins the department's queue: matches or creates the customer, creates a `queued`
/// call with its protocol number, uses up a single-use link (a reusable one counts the
/// use), and returns the place in the queue with the customer's socket token. 409
/// `Queue is full` at the department's `max_queue_size`.
#[utoipa::path(post, path = "/api/v1/call/{token}/join", tag = "widget", params(("token" = String, Path)), request_body = JoinInput,
    responses((status = 200, body = Data<JoinedQueue>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn join_queue(
    State(state): State<AppState>,
    Path(token): Path<String>,
    JsonBody(input): JsonBody<JoinInput>,
) -> Result<Json<Data<JoinedQueue>>, ApiError> {
    let tenant = link_tenant(&state, &token).await?;
    let base = state.config.public_base();
    let link = {
        let (base, token) = (base.clone(), token.clone());
        tenant.db.read(move |conn| links::usable(conn, &base, &token)).await?
    };
    let mut errors = FieldErrors::new();
    let or_link =
        |given: Option<String>, prefilled: Option<String>| given.filter(|v| !v.trim().is_empty()).or(prefilled);
    let name = validation::required_text(
        &mut errors,
        "name",
        or_link(input.name, link.customer_name).as_deref(),
        200,
    );
    let email = validation::email(
        &mut errors,
        "email",
        or_link(input.email, link.customer_email).as_deref(),
        false,
    );
    let phone = validation::phone(
        &mut errors,
        "phone",
        or_link(input.phone, link.customer_phone).as_deref(),
    );
    let reason = validation::optional_text(&mut errors, "reason", input.reason.as_deref(), 1000);
    errors.into_result()?;
    let details = CustomerDetails {
        name: name.unwrap_or_default(),
        email,
        phone,
    };

    let call_id = Uuid::new_v4().to_string();
    state
        .tenants
        .register_public(PublicKind::Call, vec![call_id.clone()], &tenant.slug)
        .await?;
    let new_call_id = call_id.clone();
    let online = state.hub.online_in(&tenant.slug);
    let joined = tenant
        .db
        .write(move |conn| {
            let link = links::usable(conn, &base, &token)?;
            let department = crate::departments::store::find(conn, &link.department_id)?;
            let queue = Queue::of_department(conn, &department.id, &online)?;
            if department.max_queue_size > 0 && queue.size >= department.max_queue_size {
                return Err(ApiError::conflict("Queue is full"));
            }
            // What the caller typed matches an existing customer only for history,
            // unless the link itself (made by staff for that customer) carried it.
            let vouched = link.customer_email.is_some() && link.customer_email == details.email
                || link.customer_phone.is_some() && link.customer_phone == details.phone;
            let (customer, new) = if vouched {
                match_or_create(conn, &details)?
            } else {
                crate::customers::store::match_anonymous(conn, &details)?
            };
            let verified = new || vouched;
            let (call, position) = calls::insert_queued(
                conn,
                &NewCall {
                    id: new_call_id,
                    department_id: department.id,
                    customer_id: customer.id,
                    access_link_id: Some(link.id.clone()),
                    reason,
                    caller_name: (!verified).then(|| details.name.clone()),
                    customer_verified: verified,
                },
            )?;
            links::record_use(conn, &link)?;
            Ok((call, position, queue.estimated_wait(position)))
        })
        .await;
    if joined.is_err() {
        state.tenants.forget_public(vec![call_id]).await;
    }
    let (call, position, estimated_wait_time) = joined?;
    let websocket_token = state.keys.issue(&token::claims(
        &tenant.slug,
        &call.id,
        None,
        TokenKind::Websocket,
        WEBSOCKET_TOKEN_SECS,
        None,
    ))?;
    Ok(ok(JoinedQueue {
        call_id: call.id,
        status: call.status,
        position,
        estimated_wait_time,
        websocket_token,
        websocket_url: websocket_url(&state.config.public_base()),
    }))
}

#[utoipa::path(get, path = "/api/v1/call/status/{call_id}", tag = "widget", params(("call_id" = String, Path)),
    responses((status = 200, body = Data<QueueStatus>), (status = 404, body = ErrorBody)))]
async fn call_status(
    State(state): State<AppState>,
    Path(call_id): Path<Uuid>,
) -> Result<Json<Data<QueueStatus>>, ApiError> {
    let tenant = call_tenant(&state, call_id).await?;
    let online = state.hub.online_in(&tenant.slug);
    Ok(ok(tenant
        .db
        .read(move |conn| queue_status(conn, &calls::find(conn, &call_id.to_string())?, &online))
        .await?))
}

/// The customer leaves the queue: a queued call becomes `missed`; leaving again is a
/// no-op; a call that started or ended otherwise → 422.
#[utoipa::path(post, path = "/api/v1/call/leave/{call_id}", tag = "widget", params(("call_id" = String, Path)),
    responses((status = 200, body = Data<QueueStatus>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn leave_queue(
    State(state): State<AppState>,
    Path(call_id): Path<Uuid>,
) -> Result<Json<Data<QueueStatus>>, ApiError> {
    let tenant = call_tenant(&state, call_id).await?;
    let online = state.hub.online_in(&tenant.slug);
    Ok(ok(tenant
        .db
        .write(move |conn| {
            let call = calls::transition(conn, &call_id.to_string(), CallAction::Leave)?;
            queue_status(conn, &call, &online)
        })
        .await?))
}

/// The customer rates a completed call (else 422), once (else 409).
#[utoipa::path(post, path = "/api/v1/call/evaluate/{call_id}", tag = "widget", params(("call_id" = String, Path)),
    request_body = EvaluateInput,
    responses((status = 201, body = Data<Evaluation>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn evaluate_call(
    State(state): State<AppState>,
    Path(call_id): Path<Uuid>,
    JsonBody(input): JsonBody<EvaluateInput>,
) -> Result<(StatusCode, Json<Data<Evaluation>>), ApiError> {
    let tenant = call_tenant(&state, call_id).await?;
    let mut errors = FieldErrors::new();
    let rating = evaluations::store::rating(&mut errors, input.rating, input.comment.as_deref());
    errors.into_result()?;
    let rating = rating.ok_or_else(|| ApiError::internal("validated rating missing"))?;
    let evaluation = tenant
        .db
        .write(move |conn| {
            let call = calls::find(conn, &call_id.to_string())?;
            evaluations::store::insert(conn, &call, &rating, None)
        })
        .await?;
    Ok(created(evaluation))
}

/// ICE servers for WebRTC: the configured STUN servers and, when TURN is configured,
/// short-lived TURN credentials (coturn REST scheme, username `<expiry>:<call_id>`).
/// Only for a call that has not ended: the bearer token is the customer's
/// `websocket_token` of that call, or a staff access token (then `call_id` names a call
/// of the token's tenant). No token, or a call that ended → 401; a call the token does
/// not reach → 404.
#[utoipa::path(get, path = "/api/v1/call/turn-credentials", tag = "widget", params(TurnQuery),
    responses((status = 200, body = Data<IceConfig>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn turn_credentials(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(query): Query<TurnQuery>,
) -> Result<Json<Data<IceConfig>>, ApiError> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let (tenant, identity) = crate::realtime::socket::identify_token(&state, bearer)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let call_id = match (&identity, query.call_id) {
        (crate::realtime::admission::Identity::Customer { call_id }, asked) => {
            if asked.is_some_and(|asked| asked.to_string() != *call_id) {
                return Err(ApiError::not_found("Call"));
            }
            call_id.clone()
        }
        (crate::realtime::admission::Identity::Staff { .. }, Some(asked)) => asked.to_string(),
        (crate::realtime::admission::Identity::Staff { .. }, None) => {
            return Err(FieldErrors::single("call_id", "can't be blank"));
        }
    };
    let id = call_id.clone();
    let live = tenant
        .db
        .read(move |conn| Ok(calls::get(conn, &id)?.map(|call| !call.status.has_ended())))
        .await?;
    match live {
        None => Err(ApiError::not_found("Call")),
        Some(false) => Err(ApiError::Unauthorized),
        Some(true) => Ok(ok(ice_config(&state.config, &call_id, crate::time::now().timestamp()))),
    }
}
