//! HTTP conventions shared by every endpoint (SPEC §2): the response envelope,
//! extractors that answer bad input properly, lists, security headers, health.

pub mod auth;
pub mod docs;
pub mod extract;
pub mod health;
pub mod layers;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod rate_limit;

use axum::Json;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// `{"data": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Data<T> {
    pub data: T,
}

/// 200 with `{"data": value}`.
pub fn ok<T: Serialize>(value: T) -> Json<Data<T>> {
    Json(Data { data: value })
}

/// 201 with `{"data": value}`.
pub fn created<T: Serialize>(value: T) -> (StatusCode, Json<Data<T>>) {
    (StatusCode::CREATED, Json(Data { data: value }))
}

/// The error envelope, for the OpenAPI document: `{"errors": {"detail": "…"}}`, or
/// `{"errors": {"<field>": ["<message>"]}}` for 422.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    #[schema(value_type = Object, example = json!({"detail": "Not found"}))]
    pub errors: serde_json::Value,
}

/// `{"data": {"<flag>": true}}` bodies of small actions, e.g. `{"sent": true}`.
pub type Flag = std::collections::BTreeMap<&'static str, bool>;

pub fn flag(name: &'static str) -> Json<Data<Flag>> {
    ok(Flag::from([(name, true)]))
}
