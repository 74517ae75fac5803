//! `/api/v1/users` (manager) and `/api/v1/users/me` (anyone, for themselves).

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::User;
use super::store::{self, NewUser, UserChanges, UserFilters};
use crate::auth::{Role, min, password, sessions};
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Path, Query, Wrapped, nullable};
use crate::http::pagination::{Page, Paging, PagingParams};
use crate::http::{Data, ErrorBody, created, ok};
use crate::state::AppState;
use crate::validation;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, update_me))
        .routes(routes!(change_my_password))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
}

/// Create/update body of a user; wrapped as `{"user": {...}}` or bare.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserInput {
    name: Option<String>,
    email: Option<String>,
    /// Write-only; at least 8 characters.
    password: Option<String>,
    /// `attendant`, `supervisor`, `manager` or `owner`; never above the caller's own role.
    role: Option<String>,
    active: Option<bool>,
    locale: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    avatar_url: Option<Option<String>>,
}

impl Wrapped for UserInput {
    const KEYS: &'static [&'static str] = &["user"];
}

/// `{"user_id": …}`: the body of the endpoints that link a user to something (department
/// membership, provider association).
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserIdInput {
    user_id: Option<String>,
}

impl Wrapped for UserIdInput {
    const KEYS: &'static [&'static str] = &[];
}

impl UserIdInput {
    /// The id: required, and a UUID (anything else cannot exist → 422 `does not exist`).
    pub fn required(&self) -> Result<String, ApiError> {
        let value = self.user_id.as_deref().map(str::trim).filter(|v| !v.is_empty());
        let mut errors = FieldErrors::new();
        if value.is_none() {
            errors.add("user_id", "can't be blank");
        }
        let id = crate::http::extract::body_id(&mut errors, "user_id", value);
        errors.into_result()?;
        id.map(|id| id.to_string())
            .ok_or_else(|| ApiError::internal("validated user_id missing"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    current_password: Option<String>,
    new_password: Option<String>,
}

impl Wrapped for PasswordChange {
    const KEYS: &'static [&'static str] = &["user"];
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Case-insensitive substring of the name or e-mail.
    search: Option<String>,
    role: Option<String>,
    active: Option<bool>,
}

fn locale(errors: &mut FieldErrors, value: Option<&str>) -> Option<String> {
    let text = validation::optional_text(errors, "locale", value, 16)?;
    let valid = text
        .split('-')
        .all(|part| (2..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if !valid {
        errors.add("locale", "is invalid");
        return None;
    }
    Some(text)
}

fn role(errors: &mut FieldErrors, value: Option<&str>, required: bool) -> Option<Role> {
    match value {
        None if required => {
            errors.add("role", "can't be blank");
            None
        }
        None => None,
        Some(text) => {
            let parsed = Role::parse(text.trim());
            if parsed.is_none() {
                errors.add("role", "is invalid");
            }
            parsed
        }
    }
}

/// Nobody gives a role above their own (SPEC §2.7): that is a 403, not a validation error.
fn check_grantable(caller: Role, granted: Option<Role>) -> Result<(), ApiError> {
    match granted {
        Some(role) if role > caller => Err(ApiError::Forbidden("Cannot grant a role above your own".into())),
        _ => Ok(()),
    }
}

/// The caller, plus what every staff screen needs of the company: its time zone (the
/// console shows every time in it) and language, and the names of the caller's
/// departments. The other settings and the department list stay with higher roles.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    user: User,
    /// IANA name, e.g. `America/Sao_Paulo`.
    company_timezone: String,
    /// `en`, `pt-BR` or `fr`.
    company_locale: String,
    /// The departments of `department_ids`, by name.
    departments: Vec<crate::departments::store::DepartmentName>,
}

#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Data<Me>), (status = 401, body = ErrorBody)))]
async fn me(auth: Auth<min::Attendant>) -> Result<Json<Data<Me>>, ApiError> {
    let id = auth.user.id.clone();
    let ((company_timezone, company_locale), departments) = auth
        .db()
        .read(move |conn| {
            Ok((
                crate::company::store::timezone_and_locale(conn)?,
                crate::departments::store::names_of_member(conn, &id)?,
            ))
        })
        .await?;
    Ok(ok(Me {
        user: auth.user,
        company_timezone,
        company_locale,
        departments,
    }))
}

/// Edit one's own `name`, `locale` and `avatar_url`; other fields are ignored here.
#[utoipa::path(put, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])), request_body = UserInput,
    responses((status = 200, body = Data<User>), (status = 422, body = ErrorBody)))]
async fn update_me(
    auth: Auth<min::Attendant>,
    JsonBody(input): JsonBody<UserInput>,
) -> Result<Json<Data<User>>, ApiError> {
    let mut errors = FieldErrors::new();
    let changes = UserChanges {
        name: input
            .name
            .as_deref()
            .and_then(|n| validation::required_text(&mut errors, "name", Some(n), 200)),
        locale: locale(&mut errors, input.locale.as_deref()),
        avatar_url: input
            .avatar_url
            .map(|url| validation::url(&mut errors, "avatar_url", url.as_deref())),
        ..UserChanges::default()
    };
    errors.into_result()?;
    let id = auth.user.id.clone();
    let user = auth.db().write(move |conn| store::update(conn, &id, &changes)).await?;
    Ok(ok(user))
}

/// Change one's own password; every other session of the user ends.
#[utoipa::path(put, path = "/api/v1/users/me/password", tag = "users", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 200, body = Data<User>), (status = 422, body = ErrorBody)))]
async fn change_my_password(
    auth: Auth<min::Attendant>,
    JsonBody(input): JsonBody<PasswordChange>,
) -> Result<Json<Data<User>>, ApiError> {
    let mut errors = FieldErrors::new();
    if input.current_password.as_deref().is_none_or(str::is_empty) {
        errors.add("current_password", "can't be blank");
    }
    let new_password = validation::password(&mut errors, "new_password", input.new_password.as_deref());
    errors.into_result()?;
    let id = auth.user.id.clone();
    let stored = auth.db().read(move |conn| store::password_hash(conn, &id)).await?;
    if !password::verify(input.current_password.unwrap_or_default(), stored).await {
        return Err(FieldErrors::single("current_password", "is invalid"));
    }
    let password_hash = password::hash(new_password.unwrap_or_default()).await?;
    let (id, keep) = (auth.user.id.clone(), auth.session_id.clone());
    let user = auth
        .db()
        .write(move |conn| {
            let user = store::update(
                conn,
                &id,
                &UserChanges {
                    password_hash: Some(password_hash),
                    ..Default::default()
                },
            )?;
            sessions::revoke_all(conn, &id, keep.as_deref())?;
            Ok(user)
        })
        .await?;
    Ok(ok(user))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(PagingParams, UserQuery),
    responses((status = 200, body = Page<User>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_users(
    auth: Auth<min::Manager>,
    paging: Paging,
    Query(query): Query<UserQuery>,
) -> Result<Json<Page<User>>, ApiError> {
    let order = paging.order(&store::SORT)?;
    let mut errors = FieldErrors::new();
    let filters = UserFilters {
        search: query.search,
        role: query.role.as_deref().and_then(|r| role(&mut errors, Some(r), false)),
        active: query.active,
        ..UserFilters::default()
    };
    errors.into_result()?;
    let page = auth.db().read(move |conn| store::list(conn, &filters, &order)).await?;
    Ok(Json(page))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = UserInput,
    responses((status = 201, body = Data<User>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth<min::Manager>,
    JsonBody(input): JsonBody<UserInput>,
) -> Result<(axum::http::StatusCode, Json<Data<User>>), ApiError> {
    let mut errors = FieldErrors::new();
    let name = validation::required_text(&mut errors, "name", input.name.as_deref(), 200);
    let email = validation::email(&mut errors, "email", input.email.as_deref(), true);
    let new_password = validation::password(&mut errors, "password", input.password.as_deref());
    let role = role(&mut errors, input.role.as_deref(), true);
    let locale = locale(&mut errors, input.locale.as_deref());
    let avatar_url = validation::url(&mut errors, "avatar_url", input.avatar_url.flatten().as_deref());
    errors.into_result()?;
    check_grantable(auth.role(), role)?;
    let (Some(name), Some(email), Some(new_password), Some(role)) = (name, email, new_password, role) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let password_hash = password::hash(new_password).await?;
    let new = NewUser {
        name,
        email,
        password_hash,
        role,
        active: input.active.unwrap_or(true),
        locale: locale.unwrap_or_else(|| "pt-BR".into()),
        avatar_url,
    };
    let limits = crate::billing::Limits::of(&state.config);
    let user = auth
        .db()
        .write(move |conn| {
            let user = store::insert(conn, &new)?;
            crate::billing::enforce_users(conn, limits)?;
            Ok(user)
        })
        .await?;
    Ok(created(user))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id (UUID)")),
    responses((status = 200, body = Data<User>), (status = 404, body = ErrorBody)))]
async fn get_user(auth: Auth<min::Manager>, Path(id): Path<uuid::Uuid>) -> Result<Json<Data<User>>, ApiError> {
    let user = auth.db().read(move |conn| store::find(conn, &id.to_string())).await?;
    Ok(ok(user))
}

/// Update any of `name`, `email`, `role`, `active`, `locale`, `avatar_url`, `password`.
/// `active: false` deactivates the user and ends all their sessions at once.
#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), request_body = UserInput,
    params(("id" = String, Path, description = "User id (UUID)")),
    responses((status = 200, body = Data<User>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth<min::Manager>,
    Path(id): Path<uuid::Uuid>,
    JsonBody(input): JsonBody<UserInput>,
) -> Result<Json<Data<User>>, ApiError> {
    let id = id.to_string();
    let target = {
        let id = id.clone();
        auth.db().read(move |conn| store::find(conn, &id)).await?
    };
    if target.role > auth.role() {
        return Err(ApiError::Forbidden(
            "Cannot edit a user with a role above your own".into(),
        ));
    }
    let mut errors = FieldErrors::new();
    let new_role = role(&mut errors, input.role.as_deref(), false);
    let is_self = target.id == auth.user.id;
    if is_self && new_role.is_some_and(|r| r != target.role) {
        errors.add("role", "cannot change your own role");
    }
    if is_self && input.active == Some(false) {
        errors.add("active", "cannot deactivate yourself");
    }
    let new_password = input
        .password
        .as_deref()
        .and_then(|p| validation::password(&mut errors, "password", Some(p)));
    let changes = UserChanges {
        name: input
            .name
            .as_deref()
            .and_then(|n| validation::required_text(&mut errors, "name", Some(n), 200)),
        email: input
            .email
            .as_deref()
            .and_then(|e| validation::email(&mut errors, "email", Some(e), true)),
        role: new_role,
        active: input.active,
        locale: locale(&mut errors, input.locale.as_deref()),
        avatar_url: input
            .avatar_url
            .map(|url| validation::url(&mut errors, "avatar_url", url.as_deref())),
        password_hash: None,
    };
    errors.into_result()?;
    check_grantable(auth.role(), changes.role)?;
    let changes = match new_password {
        Some(p) => UserChanges {
            password_hash: Some(password::hash(p).await?),
            ..changes
        },
        None => changes,
    };
    let ends_sessions = changes.active == Some(false) || changes.password_hash.is_some();
    let limits = crate::billing::Limits::of(&state.config);
    let user = auth
        .db()
        .write(move |conn| {
            let user = store::update(conn, &id, &changes)?;
            if changes.active == Some(true) {
                crate::billing::enforce_users(conn, limits)?;
            }
            if ends_sessions {
                sessions::revoke_all(conn, &id, None)?;
            }
            if changes.active == Some(false) {
                // Their sockets close, so they leave every presence at once.
                conn.emit(crate::events::DomainEvent::UserDeactivated { user_id: id.clone() })?;
            }
            Ok(user)
        })
        .await?;
    Ok(ok(user))
}
