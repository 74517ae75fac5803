//! Tokens. Access tokens are HS256 JWTs (15 min) with claims `sub`, `tenant`, `role`,
//! `exp`, `iat`, `jti`, `typ` (SPEC §3), plus `sid`, the session they came from, so a
//! password change can keep the caller's own session. Refresh tokens are random,
//! prefixed with the tenant slug, and stored only as a SHA-256 hash.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::Role;
use crate::error::ApiError;

pub const ACCESS_TTL_SECS: i64 = 15 * 60;
pub const REFRESH_TTL_SECS: i64 = 7 * 24 * 3600;

/// What a JWT is for; a token of one kind is never accepted as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    /// The intermediate token of a login that still needs its TOTP code.
    Mfa,
    /// A customer's token for one call's socket topic.
    Websocket,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub tenant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub typ: TokenKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Set when the company requires MFA and the user has none yet: the token then only
    /// reaches `/api/v1/users/me` and the MFA enrolment endpoints.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa_setup_required: bool,
}

/// The HS256 keys of this process.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Seals TOTP secrets at rest.
    pub totp: super::sealed::Sealer,
    /// Seals what a queued password-reset e-mail needs (its bodies and link) until sent.
    pub outbox: super::sealed::Sealer,
    /// Access tokens whose signature was checked, with their claims. A console or an
    /// integration sends the same token with every request of its 15 minutes; decoding
    /// and checking it each time (base64, HMAC, JSON) was a tenth of a list request's
    /// time outside SQL. Only the very same token string is found here, and its kind and
    /// expiry are checked at every use; revocation is checked after this, as before.
    verified: Mutex<HashMap<Box<str>, Claims>>,
}

/// Verified access tokens kept at most (then the cache starts over).
const VERIFIED_TOKENS: usize = 4096;
/// Seconds a token is still accepted after its `exp` (clock skew between servers).
const LEEWAY_SECS: i64 = 5;

impl Keys {
    pub fn from_secret(secret: &[u8]) -> Keys {
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            totp: super::sealed::Sealer::new(secret, "totp"),
            outbox: super::sealed::Sealer::new(secret, "outbox"),
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// The configured secret, or the one kept in `<data_dir>/secret.key`, generated
    /// (mode 0600) on first start so restarts keep sessions valid.
    pub fn load(configured: &str, data_dir: &Path) -> Result<Keys, ApiError> {
        if !configured.is_empty() {
            return Ok(Keys::from_secret(configured.as_bytes()));
        }
        let path = data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(secret) if secret.trim().len() >= 32 => return Ok(Keys::from_secret(secret.trim().as_bytes())),
            Ok(_) => {
                return Err(ApiError::internal(format!(
                    "{} is too short; delete it to regenerate",
                    path.display()
                )));
            }
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(ApiError::internal(format!("cannot read {}: {e}", path.display())));
            }
            Err(_) => {}
        }
        let secret = random_token();
        match write_private(&path, &secret) {
            Ok(()) => Ok(Keys::from_secret(secret.as_bytes())),
            // Another process starting on the same data dir wrote it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                for _ in 0..50 {
                    if let Ok(secret) = std::fs::read_to_string(&path)
                        && secret.trim().len() >= 32
                    {
                        return Ok(Keys::from_secret(secret.trim().as_bytes()));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(ApiError::internal(format!("{} is incomplete", path.display())))
            }
            Err(e) => Err(ApiError::internal(format!("cannot write {}: {e}", path.display()))),
        }
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("token signing failed: {e}")))
    }

    /// Decodes a token of `kind`; anything wrong (signature, expiry, kind) is a 401.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, ApiError> {
        let verified = || self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(claims) = verified().get(token) {
            let current = claims.exp >= chrono::Utc::now().timestamp() - LEEWAY_SECS;
            return if current && claims.typ == kind {
                Ok(claims.clone())
            } else {
                Err(ApiError::Unauthorized)
            };
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS as u64;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| ApiError::Unauthorized)?
            .claims;
        if claims.typ != kind {
            return Err(ApiError::Unauthorized);
        }
        if kind == TokenKind::Access {
            let mut verified = verified();
            if verified.len() >= VERIFIED_TOKENS {
                verified.clear();
            }
            verified.insert(token.into(), claims.clone());
        }
        Ok(claims)
    }

    /// A 15-minute access token for `user_id` in `tenant`, from session `sid`.
    pub fn access_token(&self, tenant: &str, user_id: &str, role: Role, sid: &str) -> Result<String, ApiError> {
        self.access_token_for(tenant, user_id, role, sid, false)
    }

    /// [`Keys::access_token`], restricted to MFA enrolment when `mfa_setup_required`.
    pub fn access_token_for(
        &self,
        tenant: &str,
        user_id: &str,
        role: Role,
        sid: &str,
        mfa_setup_required: bool,
    ) -> Result<String, ApiError> {
        let mut claims = claims(
            tenant,
            user_id,
            Some(role),
            TokenKind::Access,
            ACCESS_TTL_SECS,
            Some(sid.to_string()),
        );
        claims.mfa_setup_required = mfa_setup_required;
        self.issue(&claims)
    }
}

/// Claims valid from now for `ttl_secs`.
pub fn claims(
    tenant: &str,
    sub: &str,
    role: Option<Role>,
    typ: TokenKind,
    ttl_secs: i64,
    sid: Option<String>,
) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: sub.to_string(),
        tenant: tenant.to_string(),
        role,
        exp: now + ttl_secs,
        iat: now,
        jti: Uuid::new_v4().to_string(),
        typ,
        sid,
        mfa_setup_required: false,
    }
}

/// 256 random bits, URL-safe base64.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// A new refresh token `<slug>.<random>`; the slug lets `/refresh` find the tenant.
pub fn new_refresh_token(tenant: &str) -> String {
    format!("{tenant}.{}", random_token())
}

/// The tenant slug a refresh token claims to belong to.
pub fn refresh_token_tenant(token: &str) -> Option<&str> {
    token.split_once('.').map(|(slug, _)| slug)
}

/// How a refresh (or reset) token is stored: its SHA-256, hex.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(content.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_of_one_kind_is_not_accepted_as_another() {
        let keys = Keys::from_secret(b"0123456789abcdef0123456789abcdef");
        let token = keys.access_token("demo", "u1", Role::Manager, "s1").unwrap();
        assert_eq!(keys.verify(&token, TokenKind::Access).unwrap().tenant, "demo");
        assert!(keys.verify(&token, TokenKind::Mfa).is_err());
        let other = Keys::from_secret(b"another-secret-another-secret-xx");
        assert!(other.verify(&token, TokenKind::Access).is_err());
    }

    #[test]
    fn a_token_verified_once_is_still_refused_once_expired_or_of_another_kind() {
        let keys = Keys::from_secret(b"0123456789abcdef0123456789abcdef");
        // Valid for one more second, counting the leeway.
        let short = claims(
            "demo",
            "u1",
            Some(Role::Manager),
            TokenKind::Access,
            1 - LEEWAY_SECS,
            None,
        );
        let token = keys.issue(&short).unwrap();
        assert_eq!(keys.verify(&token, TokenKind::Access).unwrap().jti, short.jti);
        assert_eq!(keys.verify(&token, TokenKind::Access).unwrap().jti, short.jti);
        assert!(keys.verify(&token, TokenKind::Websocket).is_err());
        let mut forged = token.clone();
        let at = forged.len() - 5;
        let other = if &forged[at..at + 1] == "A" { "B" } else { "A" };
        forged.replace_range(at..at + 1, other);
        assert!(keys.verify(&forged, TokenKind::Access).is_err());
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert!(
            keys.verify(&token, TokenKind::Access).is_err(),
            "an expired token was accepted"
        );
    }

    #[test]
    fn refresh_tokens_name_their_tenant() {
        let token = new_refresh_token("hospital-abc");
        assert_eq!(refresh_token_tenant(&token), Some("hospital-abc"));
        assert_eq!(hash_token(&token).len(), 64);
    }
}
