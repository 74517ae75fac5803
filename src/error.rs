//! The one error type of the service. Each variant maps to one status code and the
//! SPEC §2.2 envelope; internal details are logged, never sent.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Field-level validation messages, keyed by field name (dotted for nested fields).
/// Rendered as `{"errors": {"<field>": ["<message>", ...]}}` with status 422.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// Moves every message of `other` under `prefix.` (for per-index batch errors).
    pub fn nest(&mut self, prefix: &str, other: FieldErrors) {
        for (field, messages) in other.0 {
            for message in messages {
                self.add(format!("{prefix}.{field}"), message);
            }
        }
    }

    /// `Ok(())` when nothing was recorded, else the 422 error.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self))
        }
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let mut errors = FieldErrors::new();
        errors.add(field, message);
        ApiError::Validation(errors)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, wrong content type, a query parameter of the wrong type.
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized")]
    Unauthorized,
    /// Login failures: one message for every cause so nothing is enumerated.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// A conflict a retry with other data would fix; `extra` adds keys beside `detail`.
    #[error("conflict: {detail}")]
    Conflict {
        detail: String,
        extra: Option<(String, Value)>,
    },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("validation failed: {0:?}")]
    Validation(FieldErrors),
    /// A 422 that concerns the object as a whole, e.g. a delete refused by its history.
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    #[error("rate limited")]
    TooManyRequests { retry_after_secs: u64 },
    /// Logged with its whole cause chain ("a: b: c"), answered as a bare 500.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn internal(why: impl std::fmt::Display) -> Self {
        ApiError::Internal(why.to_string())
    }

    /// The internal error of `err`, keeping the messages of its sources too, so the log
    /// says why (`sqlite: disk I/O error: No space left on device`), not only what.
    pub fn from_source(err: impl std::error::Error) -> Self {
        ApiError::Internal(chain(&err))
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            detail: detail.into(),
            extra: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Validation(_) | ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> Value {
        let detail = |text: &str| json!({ "errors": { "detail": text } });
        match self {
            ApiError::BadRequest(why) => detail(why),
            ApiError::Unauthorized => detail("Unauthorized"),
            ApiError::InvalidCredentials => detail("Invalid credentials"),
            ApiError::Forbidden(why) | ApiError::NotFound(why) | ApiError::Unprocessable(why) => detail(why),
            ApiError::Conflict { detail: text, extra } => {
                let mut errors = json!({ "detail": text });
                if let Some((key, value)) = extra {
                    errors[key] = value.clone();
                }
                json!({ "errors": errors })
            }
            ApiError::PayloadTooLarge => detail("Request body too large"),
            ApiError::Validation(fields) => json!({ "errors": fields.0 }),
            ApiError::TooManyRequests { .. } => detail("Too many requests"),
            ApiError::Internal(_) => detail("Internal server error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(why) = &self {
            tracing::error!(error = %why, "internal error");
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized | ApiError::InvalidCredentials => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

/// `err` and each of its sources, joined by ": " (a source whose text its parent already
/// shows is not repeated).
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> Self {
        ApiError::Internal(format!("sqlite: {}", chain(&err)))
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(err: r2d2::Error) -> Self {
        ApiError::Internal(format!("connection pool: {}", chain(&err)))
    }
}

/// Turns a UNIQUE-constraint violation into a 422 on `field`; other errors pass through.
/// The schema is the last line of defence: a racing duplicate still gets a clean answer.
pub fn unique_violation_as(field: &str) -> impl Fn(rusqlite::Error) -> ApiError + '_ {
    move |err| match &err {
        rusqlite::Error::SqliteFailure(e, Some(message))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE && message.contains("UNIQUE") =>
        {
            FieldErrors::single(field, "has already been taken")
        }
        _ => err.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("could not write the backup")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn an_internal_error_keeps_its_source_chain() {
        let err = ApiError::from_source(Outer(std::io::Error::other("No space left on device")));
        assert!(
            matches!(&err, ApiError::Internal(why) if why == "could not write the backup: No space left on device"),
            "{err}"
        );
        assert_eq!(err.body(), json!({"errors": {"detail": "Internal server error"}}));
    }
}
