//! SQL for evaluations. An evaluation belongs to a call; its customer, agent and
//! department are the call's, so a customer merge carries them along.

use std::collections::BTreeMap;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::analytics::{one_decimal, percent};
use crate::auth::Visibility;
use crate::calls::rules::CallStatus;
use crate::calls::store::Call;
use crate::db::query::DateRange;
use crate::db::query::{Filter, Order, Page, SortOrder, SortSpec, fetch_one, fetch_page};
use crate::error::{ApiError, FieldErrors};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evaluation {
    pub id: String,
    pub call_id: String,
    /// 1 to 5.
    pub rating: i64,
    pub comment: Option<String>,
    pub customer_id: String,
    pub customer_name: String,
    /// The agent of the call.
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub department_id: String,
    pub department_name: String,
    pub inserted_at: String,
}

/// `GET /evaluations/stats`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvaluationStats {
    pub count: i64,
    /// One decimal; 0 without evaluations.
    pub avg_rating: f64,
    /// How many evaluations gave each rating, `"1"` to `"5"`.
    pub distribution: BTreeMap<String, i64>,
    /// Percentage of ratings of 4 or 5, one decimal.
    pub satisfaction_rate: f64,
}

const COLUMNS: &str = "e.id, e.call_id, e.rating, e.comment, c.customer_id, cu.name, c.user_id, u.name, \
     c.department_id, d.name, e.inserted_at";
const FROM: &str = "evaluations e JOIN calls c ON c.id = e.call_id JOIN customers cu ON cu.id = c.customer_id \
     JOIN departments d ON d.id = c.department_id LEFT JOIN users u ON u.id = c.user_id";

pub const SORT: SortSpec = SortSpec {
    columns: &[("inserted_at", "e.inserted_at"), ("rating", "e.rating")],
    default_key: "inserted_at",
    default_order: SortOrder::Desc,
    default_page_size: 20,
    tie_breaker: "e.id",
};

fn map_row(row: &Row<'_>) -> rusqlite::Result<Evaluation> {
    Ok(Evaluation {
        id: row.get(0)?,
        call_id: row.get(1)?,
        rating: row.get(2)?,
        comment: row.get(3)?,
        customer_id: row.get(4)?,
        customer_name: row.get(5)?,
        user_id: row.get(6)?,
        user_name: row.get(7)?,
        department_id: row.get(8)?,
        department_name: row.get(9)?,
        inserted_at: row.get(10)?,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Evaluation>, ApiError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE e.id = ?1"))?
        .query_row([id], map_row)
        .optional()?)
}

/// The evaluation if `scope` sees its call; otherwise 404.
pub fn find_visible(conn: &Connection, scope: &Visibility, id: &str) -> Result<Evaluation, ApiError> {
    get(conn, id)?
        .filter(|e| scope.allows(&e.department_id, e.user_id.as_deref()))
        .ok_or_else(|| ApiError::not_found("Evaluation"))
}

#[derive(Debug, Default)]
pub struct EvaluationFilters {
    pub rating: Option<i64>,
    pub department_id: Option<String>,
    pub user_id: Option<String>,
    /// On the evaluation's `inserted_at`.
    pub dates: DateRange,
}

fn filter(conn: &Connection, scope: &Visibility, filters: &EvaluationFilters) -> Result<Filter, ApiError> {
    let mut filter = Filter::new();
    scope.restrict(&mut filter, "c");
    if let Some(rating) = filters.rating {
        filter.push("e.rating = ?", [SqlValue::Integer(rating)]);
    }
    for (column, value) in [
        ("c.department_id", &filters.department_id),
        ("c.user_id", &filters.user_id),
    ] {
        if let Some(value) = value {
            filter.push(&format!("{column} = ?"), [SqlValue::Text(value.clone())]);
        }
    }
    filters
        .dates
        .restrict(&mut filter, "e.inserted_at", crate::company::store::timezone(conn)?);
    Ok(filter)
}

pub fn list(
    conn: &Connection,
    scope: &Visibility,
    filters: &EvaluationFilters,
    order: &Order,
) -> Result<Page<Evaluation>, ApiError> {
    fetch_page(conn, COLUMNS, FROM, &filter(conn, scope, filters)?, order, map_row)
}

pub fn stats(conn: &Connection, scope: &Visibility, filters: &EvaluationFilters) -> Result<EvaluationStats, ApiError> {
    let columns = "count(*), coalesce(avg(e.rating), 0), coalesce(sum(e.rating = 1), 0), \
         coalesce(sum(e.rating = 2), 0), coalesce(sum(e.rating = 3), 0), coalesce(sum(e.rating = 4), 0), \
         coalesce(sum(e.rating = 5), 0)";
    let (count, average, counts) = fetch_one(conn, columns, FROM, &filter(conn, scope, filters)?, |row| {
        let mut counts = [0i64; 5];
        for (index, count) in counts.iter_mut().enumerate() {
            *count = row.get(index + 2)?;
        }
        Ok((row.get::<_, i64>(0)?, row.get::<_, f64>(1)?, counts))
    })?;
    let satisfied = counts[3] + counts[4];
    Ok(EvaluationStats {
        count,
        avg_rating: one_decimal(average),
        distribution: (1..=5).map(|r| (r.to_string(), counts[r - 1])).collect(),
        satisfaction_rate: percent(satisfied, count),
    })
}

/// Rates `call`: only a completed call (else 422), only once (else 409).
pub fn insert(
    conn: &Connection,
    call: &Call,
    rating: &Rating,
    created_by: Option<&str>,
) -> Result<Evaluation, ApiError> {
    if call.status != CallStatus::Completed {
        return Err(ApiError::Unprocessable("Only a completed call can be evaluated".into()));
    }
    let id = Uuid::new_v4().to_string();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO evaluations (id, call_id, rating, comment, created_by, inserted_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (call_id) DO NOTHING",
        )?
        .execute(params![
            id,
            call.id,
            rating.rating,
            rating.comment,
            created_by,
            crate::time::now_text()
        ])?;
    if inserted == 0 {
        return Err(ApiError::conflict("Call already evaluated"));
    }
    get(conn, &id)?.ok_or_else(|| ApiError::internal("evaluation vanished"))
}

/// A validated rating with its comment.
#[derive(Debug, Clone)]
pub struct Rating {
    pub rating: i64,
    pub comment: Option<String>,
}

/// Checks a rating (1–5, required) and an optional comment, recording problems in `errors`.
pub fn rating(errors: &mut FieldErrors, rating: Option<i64>, comment: Option<&str>) -> Option<Rating> {
    let comment = crate::validation::optional_text(errors, "comment", comment, 2000);
    match rating {
        None => errors.add("rating", "can't be blank"),
        Some(r) if r < 1 => errors.add("rating", "must be greater than or equal to 1"),
        Some(r) if r > 5 => errors.add("rating", "must be less than or equal to 5"),
        Some(rating) => return Some(Rating { rating, comment }),
    }
    None
}
