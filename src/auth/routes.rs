//! `/api/auth/*`: login, refresh, logout.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::password;
use super::sessions::{self, Rotation};
use super::token::{self, ACCESS_TTL_SECS, TokenKind};
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::{Authenticated, authenticate};
use crate::http::extract::{JsonBody, Wrapped};
use crate::http::rate_limit::ClientIp;
use crate::http::{Data, ErrorBody, ok};
use crate::state::AppState;
use crate::users::{self, User};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(super::mfa::verify))
        .routes(routes!(super::reset::forgot_password))
        .routes(routes!(super::reset::reset_password))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    email: Option<String>,
    password: Option<String>,
    /// The tenant slug.
    tenant: Option<String>,
}

impl Wrapped for LoginRequest {
    const KEYS: &'static [&'static str] = &[];
}

/// Tokens of a completed login or refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    user: User,
    /// Present (true) when the company requires MFA and this user must enrol first: the
    /// access token then reaches only `/api/v1/users/me` and the MFA endpoints.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    mfa_setup_required: bool,
}

/// The answer to a login: tokens, or an MFA challenge (`mfa_required`, `mfa_token`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginOutcome {
    Tokens(Box<TokenPair>),
    MfaChallenge { mfa_required: bool, mfa_token: String },
}

/// Log in with e-mail, password and tenant slug. Every failure (unknown tenant or
/// e-mail, wrong password, deactivated user) is the same 401 after the same work.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Data<LoginOutcome>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(input): JsonBody<LoginRequest>,
) -> Result<Json<Data<LoginOutcome>>, ApiError> {
    state.limits.auth(ip, input.email.as_deref().unwrap_or_default())?;
    let mut errors = FieldErrors::new();
    for (field, value) in [
        ("email", &input.email),
        ("password", &input.password),
        ("tenant", &input.tenant),
    ] {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            errors.add(field, "can't be blank");
        }
    }
    errors.into_result()?;
    let (email, given_password, slug) = (
        input.email.unwrap_or_default(),
        input.password.unwrap_or_default(),
        input.tenant.unwrap_or_default(),
    );
    let slug = slug.trim().to_string();

    let db = state.tenants.get(&slug).await?;
    let credentials = match &db {
        Some(db) => {
            let email = email.clone();
            db.read(move |conn| users::store::credentials_by_email(conn, &email))
                .await?
        }
        None => None,
    };
    let stored = credentials.as_ref().map(|c| c.password_hash.clone());
    let matches = password::verify(given_password, stored).await;
    let (Some(db), Some(credentials)) = (db, credentials) else {
        return Err(ApiError::InvalidCredentials);
    };
    if !matches || !credentials.active {
        return Err(ApiError::InvalidCredentials);
    }

    if credentials.mfa_enabled {
        let claims = token::claims(&slug, &credentials.id, None, TokenKind::Mfa, 5 * 60, None);
        let mfa_token = state.keys.issue(&claims)?;
        return Ok(ok(LoginOutcome::MfaChallenge {
            mfa_required: true,
            mfa_token,
        }));
    }
    let pair = start_session(&state, &db, &slug, &credentials.id).await?;
    Ok(ok(LoginOutcome::Tokens(Box::new(pair))))
}

/// Opens a refresh-token session for a user who has proven who they are.
pub async fn start_session(
    state: &AppState,
    db: &crate::db::Database,
    slug: &str,
    user_id: &str,
) -> Result<TokenPair, ApiError> {
    let (tenant, id) = (slug.to_string(), user_id.to_string());
    let (session, user, mfa_setup_required) = db
        .write(move |conn| {
            let session = sessions::create(conn, &tenant, &id, None)?;
            users::store::record_login(conn, &id)?;
            let user = users::store::find(conn, &id)?;
            let restricted = must_enrol_mfa(conn, &user)?;
            Ok((session, user, restricted))
        })
        .await?;
    token_pair(state, slug, user, session, mfa_setup_required)
}

/// `company.mfa_required` and the user has no MFA yet.
fn must_enrol_mfa(conn: &rusqlite::Connection, user: &User) -> Result<bool, ApiError> {
    let required: bool = conn
        .prepare_cached("SELECT mfa_required FROM company")?
        .query_row([], |row| row.get(0))?;
    Ok(required && !user.mfa_enabled)
}

fn token_pair(
    state: &AppState,
    slug: &str,
    user: User,
    session: sessions::NewSession,
    mfa_setup_required: bool,
) -> Result<TokenPair, ApiError> {
    let access_token = state
        .keys
        .access_token_for(slug, &user.id, user.role, &session.id, mfa_setup_required)?;
    Ok(TokenPair {
        access_token,
        refresh_token: session.refresh_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECS,
        user,
        mfa_setup_required,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    refresh_token: Option<String>,
}

impl Wrapped for RefreshRequest {
    const KEYS: &'static [&'static str] = &[];
}

/// Trade a refresh token for a new access token **and** a new refresh token; the one
/// presented is revoked. Presenting a revoked one again revokes its whole family.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Data<TokenPair>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(input): JsonBody<RefreshRequest>,
) -> Result<Json<Data<TokenPair>>, ApiError> {
    state.limits.refresh(ip)?;
    let Some(refresh_token) = input.refresh_token.filter(|t| !t.trim().is_empty()) else {
        return Err(FieldErrors::single("refresh_token", "can't be blank"));
    };
    let slug = token::refresh_token_tenant(&refresh_token)
        .ok_or(ApiError::Unauthorized)?
        .to_string();
    let db = state.tenants.get(&slug).await?.ok_or(ApiError::Unauthorized)?;
    let tenant = slug.clone();
    let rotated = db
        .write(move |conn| match sessions::rotate(conn, &tenant, &refresh_token)? {
            Rotation::Rotated { user_id, session } => {
                let user = users::store::find(conn, &user_id)?;
                let restricted = must_enrol_mfa(conn, &user)?;
                Ok(Some((user, session, restricted)))
            }
            Rotation::Refused => Ok(None),
        })
        .await?;
    let (user, session, restricted) = rotated.ok_or(ApiError::Unauthorized)?;
    Ok(ok(token_pair(&state, &slug, user, session, restricted)?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LogoutRequest {
    refresh_token: Option<String>,
    /// With an access token: end every session of the caller.
    all: Option<bool>,
}

impl Wrapped for LogoutRequest {
    const KEYS: &'static [&'static str] = &[];
}

/// End a session: revokes the given refresh token, or with `{"all": true}` and an access
/// token, every session of the caller. Access tokens already issued expire on their own
/// within 15 minutes. Unknown tokens are ignored (204 all the same).
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body = LogoutRequest,
    responses((status = 204, description = "Logged out"), (status = 401, body = ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<LogoutRequest>,
) -> Result<StatusCode, ApiError> {
    if input.all == Some(true) {
        let Authenticated { user, tenant, .. } = authenticate(&state, &headers).await?;
        tenant
            .db
            .write(move |conn| sessions::revoke_all(conn, &user.id, None))
            .await?;
    }
    if let Some(refresh_token) = input.refresh_token.filter(|t| !t.is_empty()) {
        let slug = token::refresh_token_tenant(&refresh_token)
            .unwrap_or_default()
            .to_string();
        if let Some(db) = state.tenants.get(&slug).await? {
            db.write(move |conn| sessions::revoke_token(conn, &refresh_token))
                .await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
