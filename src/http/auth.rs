//! The authentication extractor. A handler states its minimum role in its signature:
//! `auth: Auth<min::Supervisor>`. A handler without an `Auth` parameter is public, and
//! there is no `Option<Auth>`: "maybe authenticated" would let a bad token pass as
//! anonymous instead of being refused.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};

use crate::auth::token::TokenKind;
use crate::auth::{MinRole, Role, min};
use crate::db::{Database, Tenant};
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::{self, User};

/// An authenticated, active user of `X-Tenant` whose role is at least `R`.
///
/// Checked on every request (SPEC §2.1): a valid access token, `X-Tenant` equal to its
/// `tenant` claim, the session it was issued from still alive, and the user still present
/// and active — so deactivation, logout-all and a password reset take effect at once. The role is read from the database, not the token, so a demotion does too.
pub struct Auth<R: MinRole = min::Attendant> {
    pub user: User,
    pub tenant: Tenant,
    /// The refresh-token session the access token was issued from.
    pub session_id: Option<String>,
    /// The API key the request came with (its id), when it did not carry a JWT.
    pub api_key_id: Option<String>,
    minimum: PhantomData<R>,
}

impl<R: MinRole> Auth<R> {
    pub fn db(&self) -> &Arc<Database> {
        &self.tenant.db
    }

    pub fn role(&self) -> Role {
        self.user.role
    }
}

impl<R: MinRole> FromRequestParts<AppState> for Auth<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer(&parts.headers).filter(|token| crate::api_keys::key_tenant(token).is_some()) {
            // Keys act on the tenant API only: not on sessions, nor as a person.
            let path = parts.uri.path();
            if path.starts_with("/api/auth/") || path.starts_with(MFA_SETUP_PATHS) {
                return Err(ApiError::Unauthorized);
            }
            let (user, tenant, key) = authenticate_key(state, &parts.headers, token).await?;
            if !user.role.at_least(R::ROLE) {
                return Err(ApiError::Forbidden("Forbidden".into()));
            }
            crate::actor::name_caller(crate::actor::ActorType::ApiKey, &key.id, &key.name);
            return Ok(Auth {
                user,
                tenant,
                session_id: None,
                api_key_id: Some(key.id),
                minimum: PhantomData,
            });
        }
        let Authenticated {
            user,
            tenant,
            session_id,
            mfa_setup_required,
        } = authenticate(state, &parts.headers).await?;
        if mfa_setup_required && !parts.uri.path().starts_with(MFA_SETUP_PATHS) {
            return Err(ApiError::Forbidden("MFA setup required".into()));
        }
        if !user.role.at_least(R::ROLE) {
            return Err(ApiError::Forbidden("Forbidden".into()));
        }
        crate::actor::name_caller(crate::actor::ActorType::User, &user.id, &user.name);
        Ok(Auth {
            user,
            tenant,
            session_id,
            api_key_id: None,
            minimum: PhantomData,
        })
    }
}

/// What a token restricted by `company.mfa_required` may still reach: the user's own
/// profile and the MFA enrolment endpoints below it.
const MFA_SETUP_PATHS: &str = "/api/v1/users/me";

/// A request whose token and `X-Tenant` were accepted.
pub struct Authenticated {
    pub user: User,
    pub tenant: Tenant,
    pub session_id: Option<String>,
    pub mfa_setup_required: bool,
}

/// Checks the bearer token and `X-Tenant` of a request and loads the active user; the
/// role is not checked here. Every failure is the same 401.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Authenticated, ApiError> {
    let token = bearer(headers).ok_or(ApiError::Unauthorized)?;
    let slug = headers
        .get("x-tenant")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    let claims = state.keys.verify(token, TokenKind::Access)?;
    if claims.tenant != slug {
        return Err(ApiError::Unauthorized);
    }
    let db = state.tenants.get(slug).await?.ok_or(ApiError::Unauthorized)?;
    let user_id = claims.sub.clone();
    // The session is checked too (cached briefly; a revocation clears the cache), so a
    // logout-all, a password change or reset ends the access tokens issued from it at once.
    let generation = state.hub.revocation_generation();
    let sid = claims.sid.clone().filter(|sid| !state.hub.session_known(slug, sid));
    let users_at = db.user_generation();
    let cached = state.users.get(slug, &user_id, users_at);
    let fresh = cached.is_none();
    let (user, live) = match (cached, sid) {
        // Session and user both known unchanged: no trip to the database.
        (Some(user), None) => (Some(user), true),
        (cached, sid) => {
            db.read(move |conn| {
                let live = match &sid {
                    Some(sid) => crate::auth::sessions::is_live(conn, sid)?,
                    None => true,
                };
                let user = match cached {
                    Some(user) => Some(user),
                    None => users::store::get(conn, &user_id)?,
                };
                Ok((user, live))
            })
            .await?
        }
    };
    if !live {
        return Err(ApiError::Unauthorized);
    }
    let user = user.filter(|user| user.active).ok_or(ApiError::Unauthorized)?;
    if fresh {
        state.users.insert(slug, &user, users_at);
    }
    if let Some(sid) = &claims.sid {
        state.hub.remember_session(slug, sid, generation);
    }
    Ok(Authenticated {
        user,
        tenant: Tenant {
            slug: slug.to_string(),
            db,
        },
        session_id: claims.sid,
        mfa_setup_required: claims.mfa_setup_required,
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
}

/// Checks an API key: live, not expired, `X-Tenant` (optional) equal to the key's tenant,
/// its creator still active. The key acts as its creator with the key's role, capped by
/// the creator's current role. Every failure is the same 401.
async fn authenticate_key(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
) -> Result<(User, Tenant, crate::api_keys::ActiveKey), ApiError> {
    let slug = crate::api_keys::key_tenant(token).ok_or(ApiError::Unauthorized)?;
    if let Some(sent) = headers.get("x-tenant")
        && sent.to_str().ok().map(str::trim) != Some(slug)
    {
        return Err(ApiError::Unauthorized);
    }
    let db = state.tenants.get(slug).await?.ok_or(ApiError::Unauthorized)?;
    let (key, touch) = match state.api_keys.get(token) {
        Some(found) => found,
        None => {
            let (hash, tenant) = (crate::auth::token::hash_token(token), slug.to_string());
            let key = db
                .read(move |conn| crate::api_keys::store::by_hash(conn, &tenant, &hash))
                .await?
                .ok_or(ApiError::Unauthorized)?;
            state.api_keys.insert(token, key.clone());
            (key, true)
        }
    };
    if key.tenant != slug || key.expires_at.is_some_and(|at| at <= crate::time::now()) {
        return Err(ApiError::Unauthorized);
    }
    let user_id = key.user_id.clone();
    let mut user = db
        .read(move |conn| users::store::get(conn, &user_id))
        .await?
        .filter(|user| user.active)
        .ok_or(ApiError::Unauthorized)?;
    user.role = user.role.min(key.role);
    if touch {
        let id = key.id.clone();
        db.write(move |conn| crate::api_keys::store::touch(conn, &id)).await?;
    }
    Ok((
        user,
        Tenant {
            slug: slug.to_string(),
            db,
        },
        key,
    ))
}
