//! TOTP multi-factor authentication (SPEC §3): RFC 6238 with SHA-1, 6 digits, 30-second
//! steps, ±1 step of skew, and each step accepted once per user. Enrolment is
//! setup (a new pending secret) → enable (prove a code) → disable (prove a code).

use axum::Json;
use axum::extract::State;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Secret, Totp};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::min;
use super::routes::{LoginOutcome, start_session};
use super::sealed::Sealer;
use super::token::TokenKind;
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::extract::{JsonBody, Wrapped};
use crate::http::rate_limit::ClientIp;
use crate::http::{Data, ErrorBody, ok};
use crate::state::AppState;
use crate::users::{self, User};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(enable))
        .routes(routes!(disable))
}

const ISSUER: &str = "Voki";

fn totp(secret_base32: &str, account: &str) -> Result<Totp, ApiError> {
    let secret =
        Secret::try_from_base32(secret_base32).map_err(|e| ApiError::internal(format!("bad TOTP secret: {e}")))?;
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| ApiError::internal(format!("TOTP setup failed: {e}")))
}

/// The time step `code` matches now, if it is newer than `last_step` (a code is
/// accepted once).
fn accepted_step(secret: &str, account: &str, code: &str, last_step: Option<i64>) -> Result<Option<i64>, ApiError> {
    let Some(step) = totp(secret, account)?.check_current(code.trim()) else {
        return Ok(None);
    };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    Ok((last_step.is_none_or(|last| step > last)).then_some(step))
}

/// The MFA columns of one user.
struct MfaState {
    email: String,
    secret: Option<String>,
    enabled: bool,
    last_step: Option<i64>,
}

/// The MFA columns of a user, the secret opened with `sealer`.
fn mfa_state(conn: &Connection, sealer: &Sealer, user_id: &str) -> Result<Option<MfaState>, ApiError> {
    let state = conn
        .prepare_cached("SELECT email, mfa_secret, mfa_enabled, mfa_last_step FROM users WHERE id = ?1")?
        .query_row([user_id], |row| {
            Ok(MfaState {
                email: row.get(0)?,
                secret: row.get(1)?,
                enabled: row.get(2)?,
                last_step: row.get(3)?,
            })
        })
        .optional()?;
    state
        .map(|state| {
            let secret = state.secret.as_deref().map(|s| sealer.open(s)).transpose()?;
            Ok(MfaState { secret, ..state })
        })
        .transpose()
}

/// Stores the MFA columns, the secret sealed with `sealer` (never in plaintext).
fn save_mfa(
    conn: &Connection,
    sealer: &Sealer,
    user_id: &str,
    secret: Option<&str>,
    enabled: bool,
    step: Option<i64>,
) -> Result<(), ApiError> {
    let secret = secret.map(|s| sealer.seal(s));
    conn.prepare_cached(
        "UPDATE users SET mfa_secret = ?2, mfa_enabled = ?3, mfa_last_step = coalesce(?4, mfa_last_step), updated_at = ?5
         WHERE id = ?1",
    )?
    .execute(params![user_id, secret, enabled, step, crate::time::now_text()])?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MfaSetup {
    /// Base32 secret, for manual entry in an authenticator app.
    secret: String,
    /// `otpauth://totp/...` URL, for a QR code.
    otpauth_url: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeInput {
    code: Option<String>,
}

impl Wrapped for CodeInput {
    const KEYS: &'static [&'static str] = &["mfa"];
}

fn required_code(input: CodeInput) -> Result<String, ApiError> {
    input
        .code
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| FieldErrors::single("code", "can't be blank"))
}

/// Starts enrolment: a new secret, pending until `enable` proves a code from it.
#[utoipa::path(post, path = "/api/v1/users/me/mfa/setup", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Data<MfaSetup>), (status = 422, body = ErrorBody)))]
async fn setup(State(app): State<AppState>, auth: Auth<min::Attendant>) -> Result<Json<Data<MfaSetup>>, ApiError> {
    if auth.user.mfa_enabled {
        return Err(ApiError::Unprocessable("MFA is already enabled".into()));
    }
    let secret = Secret::generate().to_base32();
    let otpauth_url = totp(&secret, &auth.user.email)?
        .to_url()
        .map_err(ApiError::from_source)?;
    let (id, stored, sealer) = (auth.user.id.clone(), secret.clone(), app.keys.totp.clone());
    auth.db()
        .write(move |conn| save_mfa(conn, &sealer, &id, Some(&stored), false, None))
        .await?;
    Ok(ok(MfaSetup { secret, otpauth_url }))
}

/// Turns MFA on with a code from the pending secret.
#[utoipa::path(post, path = "/api/v1/users/me/mfa/enable", tag = "auth", security(("bearer" = [])), request_body = CodeInput,
    responses((status = 200, body = Data<User>), (status = 422, body = ErrorBody)))]
async fn enable(
    State(app): State<AppState>,
    auth: Auth<min::Attendant>,
    JsonBody(input): JsonBody<CodeInput>,
) -> Result<Json<Data<User>>, ApiError> {
    let code = required_code(input)?;
    let (id, sealer) = (auth.user.id.clone(), app.keys.totp.clone());
    let user = auth
        .db()
        .write(move |conn| {
            let state = mfa_state(conn, &sealer, &id)?.ok_or_else(|| ApiError::not_found("User"))?;
            if state.enabled {
                return Err(ApiError::Unprocessable("MFA is already enabled".into()));
            }
            let Some(secret) = state.secret else {
                return Err(ApiError::Unprocessable(
                    "Start with POST /api/v1/users/me/mfa/setup".into(),
                ));
            };
            let step = accepted_step(&secret, &state.email, &code, state.last_step)?
                .ok_or_else(|| FieldErrors::single("code", "is invalid"))?;
            save_mfa(conn, &sealer, &id, Some(&secret), true, Some(step))?;
            users::store::find(conn, &id)
        })
        .await?;
    Ok(ok(user))
}

/// Turns MFA off; needs a current code.
#[utoipa::path(post, path = "/api/v1/users/me/mfa/disable", tag = "auth", security(("bearer" = [])), request_body = CodeInput,
    responses((status = 200, body = Data<User>), (status = 422, body = ErrorBody)))]
async fn disable(
    State(app): State<AppState>,
    auth: Auth<min::Attendant>,
    JsonBody(input): JsonBody<CodeInput>,
) -> Result<Json<Data<User>>, ApiError> {
    let code = required_code(input)?;
    let (id, sealer) = (auth.user.id.clone(), app.keys.totp.clone());
    let user = auth
        .db()
        .write(move |conn| {
            let state = mfa_state(conn, &sealer, &id)?.ok_or_else(|| ApiError::not_found("User"))?;
            let (true, Some(secret)) = (state.enabled, state.secret) else {
                return Err(ApiError::Unprocessable("MFA is not enabled".into()));
            };
            let step = accepted_step(&secret, &state.email, &code, state.last_step)?
                .ok_or_else(|| FieldErrors::single("code", "is invalid"))?;
            save_mfa(conn, &sealer, &id, None, false, Some(step))?;
            users::store::find(conn, &id)
        })
        .await?;
    Ok(ok(user))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyInput {
    mfa_token: Option<String>,
    code: Option<String>,
}

impl Wrapped for VerifyInput {
    const KEYS: &'static [&'static str] = &[];
}

/// Second step of a login with MFA: the `mfa_token` from `/login` and a TOTP code →
/// the same tokens as a login. A wrong or expired code (or token) → 401.
#[utoipa::path(post, path = "/api/auth/mfa/verify", tag = "auth", request_body = VerifyInput,
    responses((status = 200, body = Data<LoginOutcome>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(input): JsonBody<VerifyInput>,
) -> Result<Json<Data<LoginOutcome>>, ApiError> {
    let mut errors = FieldErrors::new();
    for (field, value) in [("mfa_token", &input.mfa_token), ("code", &input.code)] {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            errors.add(field, "can't be blank");
        }
    }
    errors.into_result()?;
    let claims = state
        .keys
        .verify(input.mfa_token.as_deref().unwrap_or_default(), TokenKind::Mfa)?;
    state.limits.auth(ip, &format!("mfa:{}", claims.sub))?;
    let db = state.tenants.get(&claims.tenant).await?.ok_or(ApiError::Unauthorized)?;
    let (id, code, sealer) = (
        claims.sub.clone(),
        input.code.unwrap_or_default(),
        state.keys.totp.clone(),
    );
    let accepted = db
        .write(move |conn| {
            let Some(mfa) = mfa_state(conn, &sealer, &id)? else {
                return Ok(false);
            };
            let active: bool = conn
                .prepare_cached("SELECT active FROM users WHERE id = ?1")?
                .query_row([&id], |r| r.get(0))?;
            let (true, true, Some(secret)) = (active, mfa.enabled, mfa.secret) else {
                return Ok(false);
            };
            match accepted_step(&secret, &mfa.email, &code, mfa.last_step)? {
                Some(step) => {
                    save_mfa(conn, &sealer, &id, Some(&secret), true, Some(step))?;
                    Ok(true)
                }
                None => Ok(false),
            }
        })
        .await?;
    if !accepted {
        return Err(ApiError::InvalidCredentials);
    }
    let pair = start_session(&state, &db, &claims.tenant, &claims.sub).await?;
    Ok(ok(LoginOutcome::Tokens(Box::new(pair))))
}

/// The code of a base32 secret at a Unix time (tests and tooling).
pub fn code_at(secret_base32: &str, unix_time: u64) -> Result<String, ApiError> {
    Ok(totp(secret_base32, "user")?.generate(unix_time).to_string())
}
