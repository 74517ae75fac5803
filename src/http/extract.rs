//! Request extractors that answer bad input in the SPEC §2.2 envelope instead of axum's
//! plain-text rejections: a body that is not JSON is 400, a field of the wrong type is a
//! 422 naming the field, an over-long body is 413, a path id that is not a UUID is 404,
//! a query parameter of the wrong type is 400.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{ApiError, FieldErrors};

/// The wrapping keys a request body may use (SPEC §2.4): `{"user": {...}}` or the bare
/// object. An empty list means the body is only ever bare.
pub trait Wrapped {
    const KEYS: &'static [&'static str];
}

/// A JSON object body, unwrapped from its resource key when one is present, then
/// deserialized into `T`. An empty body counts as `{}` so optional bodies
/// (`POST /logout`, `POST /…/cancel`) need no special case.
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned + Wrapped,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mime = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("Could not read the request body".into())
            }
        })?;
        let value = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            if is_json != Some(true) {
                return Err(ApiError::BadRequest("Content-Type must be application/json".into()));
            }
            serde_json::from_slice::<Value>(&bytes).map_err(|_| ApiError::BadRequest("Malformed JSON".into()))?
        };
        let Value::Object(mut object) = value else {
            return Err(ApiError::BadRequest("The request body must be a JSON object".into()));
        };
        let inner = T::KEYS
            .iter()
            .find(|key| object.get(**key).is_some_and(Value::is_object))
            .and_then(|key| object.remove(*key));
        let value = inner.unwrap_or(Value::Object(object));
        serde_path_to_error::deserialize(value).map(JsonBody).map_err(|err| {
            let path = err.path().to_string();
            let field = if path == "." || path.is_empty() {
                "body".to_string()
            } else {
                path
            };
            FieldErrors::single(field, "is invalid")
        })
    }
}

/// Query-string parameters; a parameter of the wrong type is a 400.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| ApiError::BadRequest(format!("Invalid query parameters: {}", rejection.body_text())))
    }
}

/// Path parameters; anything that does not parse (a non-UUID id) is a 404, exactly like
/// an id that does not exist, so ids cannot be probed.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|_| ApiError::NotFound("Not found".into()))
    }
}

/// For update bodies: tells "absent" (`None`) from "set to null" (`Some(None)`).
/// Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A body id (`department_id`, `user_id`, …) given as text: a value that is not a UUID
/// cannot exist, which SPEC §2.3 answers as 422 `does not exist` on that field.
pub fn body_id(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<Uuid> {
    let value = value?;
    match Uuid::parse_str(value.trim()) {
        Ok(id) => Some(id),
        Err(_) => {
            errors.add(field, "does not exist");
            None
        }
    }
}

/// An optional `status` query filter read with `parse`: empty means absent, an unknown
/// status is 422 on `status`.
pub fn status_filter<T>(text: Option<&str>, parse: fn(&str) -> Option<T>) -> Result<Option<T>, ApiError> {
    match text.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => parse(text)
            .map(Some)
            .ok_or_else(|| FieldErrors::single("status", "is invalid")),
    }
}
