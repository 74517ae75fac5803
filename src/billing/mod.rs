//! The plan (SPEC §4.8): a self-hosted install has one plan, `self_hosted`, whose limits
//! come from the server configuration (0 there = unlimited, shown as `null`), and the
//! checks that enforce them where users, departments and active calls are added.

pub mod routes;

use rusqlite::Connection;

use crate::config::Config;
use crate::error::ApiError;

/// The configured limits; `None` = unlimited.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_users: Option<i64>,
    pub max_departments: Option<i64>,
    pub max_concurrent_calls: Option<i64>,
}

fn limit(value: u64) -> Option<i64> {
    (value > 0).then(|| i64::try_from(value).unwrap_or(i64::MAX))
}

impl Limits {
    pub fn of(config: &Config) -> Limits {
        Limits {
            max_users: limit(config.max_users),
            max_departments: limit(config.max_departments),
            max_concurrent_calls: limit(config.max_concurrent_calls),
        }
    }
}

fn count(conn: &Connection, sql: &str) -> Result<i64, ApiError> {
    Ok(conn.prepare_cached(sql)?.query_row([], |row| row.get(0))?)
}

pub fn active_users(conn: &Connection) -> Result<i64, ApiError> {
    count(conn, "SELECT count(*) FROM users WHERE active = 1")
}

pub fn active_departments(conn: &Connection) -> Result<i64, ApiError> {
    count(conn, "SELECT count(*) FROM departments WHERE active = 1")
}

/// Refuses a write that would leave more active users than the plan allows. Called after
/// the write inside its transaction, so the refusal rolls it back and concurrent writes
/// cannot slip past each other.
pub fn enforce_users(conn: &Connection, limits: Limits) -> Result<(), ApiError> {
    match limits.max_users {
        Some(max) if active_users(conn)? > max => Err(ApiError::Unprocessable(format!(
            "Plan limit reached: at most {max} active users"
        ))),
        _ => Ok(()),
    }
}

/// Like [`enforce_users`], for active departments.
pub fn enforce_departments(conn: &Connection, limits: Limits) -> Result<(), ApiError> {
    match limits.max_departments {
        Some(max) if active_departments(conn)? > max => Err(ApiError::Unprocessable(format!(
            "Plan limit reached: at most {max} active departments"
        ))),
        _ => Ok(()),
    }
}
