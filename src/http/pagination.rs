//! Lists (SPEC §2.5): `page`, `page_size`, `sort_by`, `sort_order`, and the SQL that
//! fetches one page plus the total. Every list sorts by its key and then by `id`, so
//! pages never repeat or skip rows.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row, params_from_iter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::Query;
use crate::error::{ApiError, FieldErrors};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

impl SortOrder {
    fn sql(self) -> &'static str {
        match self {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        }
    }
}

/// What a resource allows to sort by: API names mapped to SQL expressions, the default
/// key and order, and the default page size.
pub struct SortSpec {
    pub columns: &'static [(&'static str, &'static str)],
    pub default_key: &'static str,
    pub default_order: SortOrder,
    pub default_page_size: i64,
    /// The unique column that breaks ties, qualified when the list joins (`users.id`).
    pub tie_breaker: &'static str,
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
        let mut errors = FieldErrors::new();
        let key = self.sort_by.as_deref().unwrap_or(spec.default_key);
        let expression = spec.columns.iter().find(|(name, _)| *name == key).map(|(_, sql)| *sql);
        if expression.is_none() {
            errors.add("sort_by", "is invalid");
        }
        let direction = match self.sort_order.as_deref() {
            None => spec.default_order,
            Some(order) if order.eq_ignore_ascii_case("asc") => SortOrder::Asc,
            Some(order) if order.eq_ignore_ascii_case("desc") => SortOrder::Desc,
            Some(_) => {
                errors.add("sort_order", "is invalid");
                spec.default_order
            }
        };
        errors.into_result()?;
        let page_size = self.page_size.unwrap_or(spec.default_page_size);
        Ok(Order {
            clause: format!(
                "{} {dir}, {} {dir}",
                expression.unwrap_or(spec.tie_breaker),
                spec.tie_breaker,
                dir = direction.sql()
            ),
            page: self.page,
            page_size,
        })
    }
}

/// A checked ORDER BY plus the page window; only obtainable through [`Paging::order`],
/// so no unchecked text reaches the SQL.
#[derive(Debug, Clone)]
pub struct Order {
    clause: String,
    page: i64,
    page_size: i64,
}

/// WHERE conditions with their parameters, built up by a list's filters.
#[derive(Debug, Default)]
pub struct Filter {
    conditions: Vec<String>,
    params: Vec<SqlValue>,
}

impl Filter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a condition written with one `?` per value, in order.
    pub fn push(&mut self, condition: &str, values: impl IntoIterator<Item = SqlValue>) {
        self.conditions.push(format!("({condition})"));
        self.params.extend(values);
    }

    /// Case-insensitive substring match of `term` against any of `columns`; `%` and `_`
    /// in the term match themselves (SPEC §2.5).
    pub fn search(&mut self, columns: &[&str], term: Option<&str>) {
        let Some(term) = term.map(str::trim).filter(|t| !t.is_empty()) else {
            return;
        };
        let needle = term.to_lowercase();
        let condition = columns
            .iter()
            .map(|c| format!("instr(casefold(coalesce({c}, '')), ?) > 0"))
            .collect::<Vec<_>>()
            .join(" OR ");
        self.push(&condition, columns.iter().map(|_| SqlValue::Text(needle.clone())));
    }

    /// `WHERE …` (empty without conditions), for queries the helpers below do not cover
    /// (grouped reports, streamed exports); bind [`Filter::params`] to it.
    pub fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        }
    }

    /// The values of the `?` in [`Filter::where_clause`], in order.
    pub fn params(&self) -> &[SqlValue] {
        &self.params
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageMeta {
    pub current_page: i64,
    pub page_size: i64,
    pub total_pages: i64,
    pub total_count: i64,
}

/// `{"data": [...], "meta": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub meta: PageMeta,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            data: self.data.into_iter().map(f).collect(),
            meta: self.meta,
        }
    }
}

/// Runs `SELECT {columns} FROM {from} {filter} ORDER BY … LIMIT … OFFSET …` and the
/// matching count. `from` may contain joins; `columns` are read by `map`.
pub fn fetch_page<T>(
    conn: &Connection,
    columns: &str,
    from: &str,
    filter: &Filter,
    order: &Order,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Page<T>, ApiError> {
    let where_clause = filter.where_clause();
    let total_count: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM {from} {where_clause}"))?
        .query_row(params_from_iter(filter.params.iter()), |row| row.get(0))?;
    let offset = (order.page - 1).saturating_mul(order.page_size);
    let sql = format!(
        "SELECT {columns} FROM {from} {where_clause} ORDER BY {} LIMIT ? OFFSET ?",
        order.clause
    );
    let params = filter
        .params
        .iter()
        .cloned()
        .chain([SqlValue::Integer(order.page_size), SqlValue::Integer(offset)]);
    let data = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(params), map)?
        .collect::<Result<Vec<T>, _>>()?;
    Ok(Page {
        data,
        meta: PageMeta {
            current_page: order.page,
            page_size: order.page_size,
            total_pages: ((total_count + order.page_size - 1) / order.page_size).max(1),
            total_count,
        },
    })
}

/// Runs `SELECT {columns} FROM {from} {filter}` for one row, e.g. the aggregates of a
/// statistics endpoint over the same filters as its list.
pub fn fetch_one<T>(
    conn: &Connection,
    columns: &str,
    from: &str,
    filter: &Filter,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<T, ApiError> {
    let sql = format!("SELECT {columns} FROM {from} {}", filter.where_clause());
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(filter.params.iter()), map)?)
}
