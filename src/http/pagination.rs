//! The list parameters of a request (SPEC §2.5): `page`, `page_size`, `sort_by`,
//! `sort_order`. The SQL they become is in [`crate::db::query`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::Query;
pub use crate::db::query::Page;
use crate::db::query::{Order, SortSpec};
use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;

/// The list parameters, for the OpenAPI document: `page` (default 1), `page_size`
/// (default 20, tags 50; larger than 100 is clamped to 100), `sort_by` (per resource;
/// unknown → 422), `sort_order` (`asc`|`desc`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PagingParams {
    page: Option<i64>,
    page_size: Option<i64>,
    sort_by: Option<String>,
    sort_order: Option<String>,
}

/// The paging and sorting parameters of a list request.
#[derive(Debug, Clone)]
pub struct Paging {
    pub page: i64,
    /// `None` when the client gave none: each list applies its own default.
    page_size: Option<i64>,
    sort_by: Option<String>,
    sort_order: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(params) = Query::<PagingParams>::from_request_parts(parts, state).await?;
        Ok(Paging {
            page: params.page.unwrap_or(1).max(1),
            page_size: params.page_size.map(|size| size.clamp(1, MAX_PAGE_SIZE)),
            sort_by: params.sort_by.filter(|s| !s.is_empty()),
            sort_order: params.sort_order.filter(|s| !s.is_empty()),
        })
    }
}

impl Paging {
    /// A first page of `page_size` rows with the resource's default order (for callers
    /// that list without a request, e.g. nested collections).
    pub fn first(page_size: i64) -> Paging {
        Paging {
            page: 1,
            page_size: Some(page_size),
            sort_by: None,
            sort_order: None,
        }
    }

    /// Checks `sort_by` and `sort_order` against `spec` → 422 naming the parameter.
    pub fn order(&self, spec: &SortSpec) -> Result<Order, ApiError> {
        Order::checked(
            spec,
            self.sort_by.as_deref(),
            self.sort_order.as_deref(),
            self.page,
            self.page_size,
        )
    }
}

#[cfg(test)]
mod plan_tests;
