//! `/api/v1/calls` (attendant; manager notes: supervisor). Every handler works within the
//! caller's [`Visibility`]: a call outside it answers 404 like an unknown id.

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::chat::{self, ChatMessage};
use super::rules::{CallAction, CallStatus};
use super::store::{self, CallFile, CallFilters, ManagerNote};
use super::{Call, files};
use crate::auth::Visibility;
use crate::auth::{Role, min};
use crate::db::query::DateRange;
use crate::departments::store::is_member;
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Query, Wrapped, body_id, status_filter};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, created, ok};
use crate::state::AppState;
use crate::tags::{self, Tag};
use crate::validation;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_calls))
        .routes(routes!(get_call))
        .routes(routes!(assign_call))
        .routes(routes!(start_call))
        .routes(routes!(complete_call))
        .routes(routes!(cancel_call))
        .routes(routes!(download_file))
        .routes(routes!(add_manager_note))
        .routes(routes!(list_call_tags, add_call_tag))
        .routes(routes!(list_messages, post_message))
        .routes(routes!(remove_call_tag))
        .routes(routes!(call_transcript))
        .routes(routes!(call_summary))
        .routes(routes!(call_recording))
        // Uploads stream to disk against `max_upload_mb` themselves, not the JSON limit.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(upload_file))
                .layer(DefaultBodyLimit::disable()),
        )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallQuery {
    /// `queued`, `active`, `completed`, `missed` or `cancelled`.
    status: Option<String>,
    department_id: Option<Uuid>,
    /// The agent.
    user_id: Option<Uuid>,
    /// The agent's service provider at assignment.
    provider_id: Option<Uuid>,
    /// Joined from: `YYYY-MM-DD` (company time zone) or RFC 3339.
    date_from: Option<String>,
    /// Joined until: `YYYY-MM-DD` (that whole day) or RFC 3339.
    date_to: Option<String>,
    /// Case-insensitive substring of the customer's name or e-mail, or of the protocol.
    search: Option<String>,
}

/// `{"user_id": …}`; without it the caller takes the call.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignInput {
    user_id: Option<String>,
}

impl Wrapped for AssignInput {
    const KEYS: &'static [&'static str] = &[];
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NoteInput {
    #[serde(alias = "manager_notes")]
    note: Option<String>,
}

impl Wrapped for NoteInput {
    const KEYS: &'static [&'static str] = &["manager_note"];
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CallTagInput {
    tag_id: Option<String>,
}

impl Wrapped for CallTagInput {
    const KEYS: &'static [&'static str] = &[];
}

/// The multipart form of an upload, for the OpenAPI document only.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file; at most `max_upload_mb` MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[utoipa::path(get, path = "/api/v1/calls", tag = "calls", security(("bearer" = [])), params(PagingParams, CallQuery),
    responses((status = 200, body = Page<Call>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_calls(
    auth: Auth<min::Attendant>,
    paging: Paging,
    Query(query): Query<CallQuery>,
) -> Result<Json<Page<Call>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    let status = status_filter(query.status.as_deref(), CallStatus::parse)?;
    let scope = Visibility::of(&auth.user);
    Ok(Json(
        auth.db()
            .read_scanning(query.search.is_some(), move |conn| {
                let filters = CallFilters {
                    status,
                    department_id: query.department_id.map(|id| id.to_string()),
                    user_id: query.user_id.map(|id| id.to_string()),
                    provider_id: query.provider_id.map(|id| id.to_string()),
                    dates: DateRange::parse(query.date_from.as_deref(), query.date_to.as_deref())?,
                    search: query.search,
                };
                store::list(conn, &scope, &filters, &order)
            })
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/calls/{id}", tag = "calls", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Data<Call>), (status = 404, body = ErrorBody)))]
async fn get_call(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> Result<Json<Data<Call>>, ApiError> {
    let scope = Visibility::of(&auth.user);
    Ok(ok(auth
        .db()
        .read(move |conn| store::find_visible(conn, &scope, &id.to_string()))
        .await?))
}

/// Assigns a queued call (it stays `queued` until started) and records the agent's
/// service provider on it. Attendants take calls of their departments for themselves
/// only (403 otherwise); supervisors and up assign any active member of the call's
/// department. When two assign at once one wins; the other gets 409 `Call already
/// assigned`. Assigning it again to the same agent is a no-op.
#[utoipa::path(post, path = "/api/v1/calls/{id}/assign", tag = "calls", security(("bearer" = [])), request_body = AssignInput,
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Call>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assign_call(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<AssignInput>,
) -> Result<Json<Data<Call>>, ApiError> {
    let mut errors = FieldErrors::new();
    let target = body_id(
        &mut errors,
        "user_id",
        input.user_id.as_deref().filter(|u| !u.trim().is_empty()),
    )
    .map(|id| id.to_string())
    .unwrap_or_else(|| auth.user.id.clone());
    errors.into_result()?;
    let scope = Visibility::of(&auth.user);
    let (caller, role) = (auth.user.id.clone(), auth.role());
    let call = auth
        .db()
        .write(move |conn| {
            let call = store::find_visible(conn, &scope, &id.to_string())?;
            if role.at_least(Role::Supervisor) {
                let user = crate::users::store::get(conn, &target)?
                    .ok_or_else(|| FieldErrors::single("user_id", "does not exist"))?;
                if !user.active {
                    return Err(FieldErrors::single("user_id", "is inactive"));
                }
                if !is_member(conn, &call.department_id, &target)? {
                    return Err(FieldErrors::single("user_id", "is not a member of the department"));
                }
            } else {
                if target != caller {
                    return Err(ApiError::Forbidden(
                        "Attendants can only assign calls to themselves".into(),
                    ));
                }
                if !is_member(conn, &call.department_id, &caller)? {
                    return Err(ApiError::Forbidden(
                        "Only members of the call's department can take it".into(),
                    ));
                }
            }
            let assigned = store::assign(conn, &call.id, &target)?;
            // Someone else gave the agent this call: tell them (taking one yourself needs no note).
            if target != caller && call.user_id.is_none() {
                crate::notifications::store::create(
                    conn,
                    &target,
                    crate::notifications::store::NotificationType::CallAssigned,
                    "Call assigned to you",
                    &format!(
                        "Call {} of {} is waiting for you.",
                        assigned.protocol, assigned.customer_name
                    ),
                    &serde_json::json!({ "call_id": assigned.id, "protocol": assigned.protocol }),
                )?;
            }
            Ok(assigned)
        })
        .await?;
    Ok(ok(call))
}

/// Starts an assigned call (`queued` → `active`, `started_at`). Refused with 409 when the
/// tenant already has `max_concurrent_calls` active calls.
#[utoipa::path(post, path = "/api/v1/calls/{id}/start", tag = "calls", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Data<Call>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn start_call(
    State(state): State<AppState>,
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
) -> Result<Json<Data<Call>>, ApiError> {
    let scope = Visibility::of(&auth.user);
    let limit = crate::billing::Limits::of(&state.config).max_concurrent_calls;
    let call = auth
        .db()
        .write(move |conn| {
            let call = store::find_visible(conn, &scope, &id.to_string())?;
            if call.status == CallStatus::Queued {
                if call.user_id.is_none() {
                    return Err(FieldErrors::single("status", "cannot start an unassigned call"));
                }
                if let Some(limit) = limit
                    && store::active_count(conn)? >= limit
                {
                    return Err(ApiError::conflict("Concurrent call limit reached"));
                }
            }
            store::transition(conn, &call.id, CallAction::Start)
        })
        .await?;
    Ok(ok(call))
}

/// Runs `action` on a call the caller sees.
async fn act(auth: &Auth<min::Attendant>, id: Uuid, action: CallAction) -> Result<Json<Data<Call>>, ApiError> {
    let scope = Visibility::of(&auth.user);
    let call = auth
        .db()
        .write(move |conn| {
            store::find_visible(conn, &scope, &id.to_string())?;
            store::transition(conn, &id.to_string(), action)
        })
        .await?;
    Ok(ok(call))
}

/// Ends an active call (`completed`, `completed_at`; `duration` follows).
#[utoipa::path(post, path = "/api/v1/calls/{id}/complete", tag = "calls", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Data<Call>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn complete_call(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> Result<Json<Data<Call>>, ApiError> {
    act(&auth, id, CallAction::Complete).await
}

/// Cancels a call that has not started (`cancelled`, `cancelled_at`).
#[utoipa::path(post, path = "/api/v1/calls/{id}/cancel", tag = "calls", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Data<Call>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel_call(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> Result<Json<Data<Call>>, ApiError> {
    act(&auth, id, CallAction::Cancel).await
}

/// Uploads a file (multipart field `file`, at most `max_upload_mb` MiB → else 413) to a
/// call; 201 with its metadata.
#[utoipa::path(post, path = "/api/v1/calls/{id}/upload", tag = "calls", security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Data<CallFile>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload_file(
    State(state): State<AppState>,
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Data<CallFile>>), ApiError> {
    let scope = Visibility::of(&auth.user);
    let call_id = id.to_string();
    {
        let (scope, call_id) = (scope.clone(), call_id.clone());
        auth.db()
            .read(move |conn| store::find_visible(conn, &scope, &call_id))
            .await?;
    }
    let mut multipart =
        multipart.map_err(|_| ApiError::BadRequest("Content-Type must be multipart/form-data".into()))?;
    let dir = files::call_dir(state.tenants.data_dir(), &auth.tenant.slug, &call_id);
    let file_id = Uuid::new_v4().to_string();
    let limit = state.config.max_upload_mb.saturating_mul(1024 * 1024);
    let received = files::receive(&mut multipart, &dir, &file_id, limit)
        .await?
        .ok_or_else(|| FieldErrors::single("file", "can't be blank"))?;
    let (row_id, uploader) = (file_id.clone(), auth.user.id.clone());
    let recorded = auth
        .db()
        .write(move |conn| {
            store::find_visible(conn, &scope, &call_id)?;
            store::insert_file(
                conn,
                &row_id,
                &call_id,
                &received.filename,
                &received.content_type,
                received.size,
                &uploader,
            )
        })
        .await;
    if recorded.is_err() {
        files::discard(&dir, &file_id).await;
    }
    Ok(created(recorded?))
}

/// Downloads a file of a call, as an attachment with its original name and type.
#[utoipa::path(get, path = "/api/v1/calls/{id}/files/{file_id}", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path), ("file_id" = String, Path)),
    responses((status = 200, description = "The file's bytes", content_type = "application/octet-stream"),
        (status = 404, body = ErrorBody)))]
async fn download_file(
    State(state): State<AppState>,
    auth: Auth<min::Attendant>,
    Path((id, file_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let scope = Visibility::of(&auth.user);
    let (call_id, file_id) = (id.to_string(), file_id.to_string());
    let file = auth
        .db()
        .read(move |conn| {
            store::find_visible(conn, &scope, &call_id)?;
            store::find_file(conn, &call_id, &file_id)
        })
        .await?;
    let dir = files::call_dir(state.tenants.data_dir(), &auth.tenant.slug, &file.call_id);
    let bytes = files::read(&dir, &file.id).await?;
    let header_value = |text: &str| HeaderValue::from_str(text).map_err(ApiError::from_source);
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header_value(&file.content_type)?);
    headers.insert(
        header::CONTENT_DISPOSITION,
        header_value(&files::content_disposition(&file.filename))?,
    );
    Ok(response)
}

/// Appends a manager note `{id, note, author_id, author_name, inserted_at}` (201).
#[utoipa::path(post, path = "/api/v1/calls/{id}/manager-notes", tag = "calls", security(("bearer" = [])), request_body = NoteInput,
    params(("id" = String, Path)),
    responses((status = 201, body = Data<ManagerNote>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn add_manager_note(
    auth: Auth<min::Supervisor>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<NoteInput>,
) -> Result<(StatusCode, Json<Data<ManagerNote>>), ApiError> {
    let mut errors = FieldErrors::new();
    let note = validation::required_text(&mut errors, "note", input.note.as_deref(), 5000);
    errors.into_result()?;
    let note = note.unwrap_or_default();
    let author = auth.user.id.clone();
    let note = auth
        .db()
        .write(move |conn| {
            store::find(conn, &id.to_string())?;
            store::add_note(conn, &id.to_string(), &author, &note)
        })
        .await?;
    Ok(created(note))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatInput {
    /// 1 to 2000 characters.
    body: Option<String>,
}

impl Wrapped for ChatInput {
    const KEYS: &'static [&'static str] = &["message"];
}

/// The call's chat, oldest first (100 a page by default).
#[utoipa::path(get, path = "/api/v1/calls/{id}/messages", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path), PagingParams),
    responses((status = 200, body = Page<ChatMessage>), (status = 404, body = ErrorBody)))]
async fn list_messages(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
    paging: Paging,
) -> Result<Json<Page<ChatMessage>>, ApiError> {
    let order = paging.order(&chat::SORT)?;
    let scope = Visibility::of(&auth.user);
    Ok(Json(
        auth.db()
            .read(move |conn| {
                store::find_visible(conn, &scope, &id.to_string())?;
                chat::list(conn, &id.to_string(), &order)
            })
            .await?,
    ))
}

/// Writes in the call's chat as its agent, or as an observer (supervisors and up); the
/// call's socket topic hears it as `chat_message` (201). Other attendants: 403.
#[utoipa::path(post, path = "/api/v1/calls/{id}/messages", tag = "calls", security(("bearer" = [])), request_body = ChatInput,
    params(("id" = String, Path)),
    responses((status = 201, body = Data<ChatMessage>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn post_message(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<ChatInput>,
) -> Result<(StatusCode, Json<Data<ChatMessage>>), ApiError> {
    let body = chat::body(input.body.as_deref())?;
    let scope = Visibility::of(&auth.user);
    let user = auth.user.clone();
    let message = auth
        .db()
        .write(move |conn| {
            let call = store::find_visible(conn, &scope, &id.to_string())?;
            let role = chat::staff_role(&call, &user)
                .ok_or_else(|| ApiError::Forbidden("Only the call's agent can write in its chat".into()))?;
            let sender = chat::Sender {
                role,
                user_id: Some(user.id),
                name: user.name,
            };
            chat::insert(conn, &call.id, &sender, &body)
        })
        .await?;
    Ok(created(message))
}

#[utoipa::path(get, path = "/api/v1/calls/{id}/tags", tag = "calls", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Data<Vec<Tag>>), (status = 404, body = ErrorBody)))]
async fn list_call_tags(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> Result<Json<Data<Vec<Tag>>>, ApiError> {
    let scope = Visibility::of(&auth.user);
    Ok(ok(auth
        .db()
        .read(move |conn| {
            store::find_visible(conn, &scope, &id.to_string())?;
            tags::store::of_call(conn, &id.to_string())
        })
        .await?))
}

/// Puts a tag on a call (`{"tag_id": …}`); 200 with the tag, also when it was there.
#[utoipa::path(post, path = "/api/v1/calls/{id}/tags", tag = "calls", security(("bearer" = [])), request_body = CallTagInput,
    params(("id" = String, Path)),
    responses((status = 200, body = Data<Tag>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_call_tag(
    auth: Auth<min::Attendant>,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<CallTagInput>,
) -> Result<Json<Data<Tag>>, ApiError> {
    let mut errors = FieldErrors::new();
    let given = input.tag_id.as_deref().filter(|t| !t.trim().is_empty());
    if given.is_none() {
        errors.add("tag_id", "can't be blank");
    }
    let tag_id = body_id(&mut errors, "tag_id", given).map(|id| id.to_string());
    errors.into_result()?;
    let tag_id = tag_id.unwrap_or_default();
    let scope = Visibility::of(&auth.user);
    let tag = auth
        .db()
        .write(move |conn| {
            store::find_visible(conn, &scope, &id.to_string())?;
            if tags::store::get(conn, &tag_id)?.is_none() {
                return Err(FieldErrors::single("tag_id", "does not exist"));
            }
            tags::store::attach(conn, &id.to_string(), &tag_id)?;
            tags::store::find(conn, &tag_id)
        })
        .await?;
    Ok(ok(tag))
}

#[utoipa::path(delete, path = "/api/v1/calls/{id}/tags/{tag_id}", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path), ("tag_id" = String, Path)),
    responses((status = 204, description = "Removed (or was not on the call)"), (status = 404, body = ErrorBody)))]
async fn remove_call_tag(
    auth: Auth<min::Attendant>,
    Path((id, tag_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let scope = Visibility::of(&auth.user);
    auth.db()
        .write(move |conn| {
            store::find_visible(conn, &scope, &id.to_string())?;
            tags::store::find(conn, &tag_id.to_string())?;
            tags::store::detach(conn, &id.to_string(), &tag_id.to_string())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Answers `detail` as a 404 for a call the caller sees: this server records no media
/// and transcribes nothing (SPEC §1), so these never exist yet.
async fn not_available(auth: &Auth<min::Attendant>, id: Uuid, detail: &str) -> ApiError {
    let scope = Visibility::of(&auth.user);
    match auth
        .db()
        .read(move |conn| store::find_visible(conn, &scope, &id.to_string()))
        .await
    {
        Ok(_) => ApiError::NotFound(detail.into()),
        Err(err) => err,
    }
}

/// The call's transcript: 404 `Transcript not available` until transcription exists.
#[utoipa::path(get, path = "/api/v1/calls/{id}/transcript", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 404, body = ErrorBody)))]
async fn call_transcript(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> ApiError {
    not_available(&auth, id, "Transcript not available").await
}

/// The call's AI summary: 404 `Summary not available` until summaries exist.
#[utoipa::path(get, path = "/api/v1/calls/{id}/summary", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 404, body = ErrorBody)))]
async fn call_summary(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> ApiError {
    not_available(&auth, id, "Summary not available").await
}

/// The call's recording: 404 `Recording not found` until recording exists.
#[utoipa::path(get, path = "/api/v1/calls/{id}/recording", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 404, body = ErrorBody)))]
async fn call_recording(auth: Auth<min::Attendant>, Path(id): Path<Uuid>) -> ApiError {
    not_available(&auth, id, "Recording not found").await
}
