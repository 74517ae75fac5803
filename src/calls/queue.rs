//! A department's queue as a waiting customer sees it: how many wait, where a call
//! stands, and how long it may take.
//!
//! The wait estimator: `estimated_wait(n) = ⌈n × A / N⌉` seconds for `n` customers ahead
//! of or including the one asking, where `A` is the average `duration` of the
//! department's last 20 completed calls (300 s before there is any) and `N` the number
//! of online agents (at least 1). It matches the reference's examples (2 waiting → 30 s,
//! position 3 → 45 s with three agents and 45 s calls). "Online" are the members present
//! on the department's `presence:` topic and not `away`; when nobody has that topic open
//! (an integration without the console), the active members with a live session.

use rusqlite::{Connection, params};

use super::rules::CallStatus;
use super::store::Call;
use crate::error::ApiError;

/// How many members of a department are present and not `away` on its `presence:`
/// topic, or `None` when nobody has that topic open (the live sockets' answer).
pub type OnlineAgents = Box<dyn Fn(&str) -> Option<usize> + Send>;

/// Average handling time assumed for a department without completed calls.
pub const DEFAULT_HANDLE_SECS: i64 = 300;
/// How many recent completed calls the average is taken over.
const HISTORY: i64 = 20;

#[derive(Debug, Clone, Copy)]
pub struct Queue {
    /// Calls waiting (assigned or not) in the department.
    pub size: i64,
    pub online_agents: i64,
    pub average_handle_secs: i64,
}

impl Queue {
    pub fn of_department(conn: &Connection, department_id: &str, online: &OnlineAgents) -> Result<Queue, ApiError> {
        let size = conn
            .prepare_cached("SELECT count(*) FROM calls WHERE department_id = ?1 AND status = 'queued'")?
            .query_row([department_id], |row| row.get(0))?;
        let online_agents = match online(department_id) {
            Some(present) => i64::try_from(present).unwrap_or(i64::MAX),
            None => signed_in(conn, department_id)?,
        };
        let average: Option<f64> = conn
            .prepare_cached(
                "SELECT avg(unixepoch(completed_at) - unixepoch(started_at)) FROM
                    (SELECT started_at, completed_at FROM calls
                     WHERE department_id = ?1 AND status = 'completed'
                     ORDER BY completed_at DESC LIMIT ?2)",
            )?
            .query_row(params![department_id, HISTORY], |row| row.get(0))?;
        Ok(Queue {
            size,
            online_agents,
            average_handle_secs: average.map_or(DEFAULT_HANDLE_SECS, |a| a.round() as i64),
        })
    }

    /// Seconds a customer with `customers` people up to and including them can expect.
    pub fn estimated_wait(&self, customers: i64) -> i64 {
        let agents = self.online_agents.max(1);
        (customers.max(0) * self.average_handle_secs + agents - 1) / agents
    }
}

/// Active members of the department with a live session.
fn signed_in(conn: &Connection, department_id: &str) -> Result<i64, ApiError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM department_members m JOIN users u ON u.id = m.user_id
             WHERE m.department_id = ?1 AND u.active = 1
               AND EXISTS (SELECT 1 FROM sessions s
                           WHERE s.user_id = u.id AND s.revoked_at IS NULL AND s.expires_at > ?2)",
        )?
        .query_row(params![department_id, crate::time::now_text()], |row| row.get(0))?)
}

/// Where a queued call stands in its department's queue (1 = next); `None` once it
/// left the queue. First come, first served: by join time, then by protocol number,
/// which grows with every call of the day.
pub fn position(conn: &Connection, call: &Call) -> Result<Option<i64>, ApiError> {
    if call.status != CallStatus::Queued {
        return Ok(None);
    }
    let position = conn
        .prepare_cached(
            "SELECT count(*) FROM calls
             WHERE department_id = ?1 AND status = 'queued' AND (inserted_at, protocol) <= (?2, ?3)",
        )?
        .query_row(params![call.department_id, call.inserted_at, call.protocol], |row| {
            row.get(0)
        })?;
    Ok(Some(position))
}

/// A waiting call as the queue topic shows it (`customer_joined` and the join reply).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Waiting {
    pub call_id: String,
    pub protocol: String,
    pub customer_name: String,
    /// False when the caller only typed an e-mail or phone of an existing customer.
    pub customer_verified: bool,
    pub reason: Option<String>,
    pub position: i64,
    pub inserted_at: String,
    /// The agent, once assigned.
    pub user_id: Option<String>,
    pub user_name: Option<String>,
}

impl Waiting {
    pub fn of(call: &Call, position: i64) -> Waiting {
        Waiting {
            call_id: call.id.clone(),
            protocol: call.protocol.clone(),
            customer_name: call.customer_name.clone(),
            customer_verified: call.customer_verified,
            reason: call.reason.clone(),
            position,
            inserted_at: call.inserted_at.clone(),
            user_id: call.user_id.clone(),
            user_name: call.user_name.clone(),
        }
    }
}

/// The department's queue in order (first = next).
pub fn waiting(conn: &Connection, department_id: &str) -> Result<Vec<Waiting>, ApiError> {
    Ok(conn
        .prepare_cached(
            "SELECT c.id, c.protocol, coalesce(c.caller_name, cu.name), c.reason, c.inserted_at, c.user_id, u.name, c.customer_verified
             FROM calls c JOIN customers cu ON cu.id = c.customer_id LEFT JOIN users u ON u.id = c.user_id
             WHERE c.department_id = ?1 AND c.status = 'queued'
             ORDER BY c.inserted_at, c.protocol",
        )?
        .query_map([department_id], |row| {
            Ok(Waiting {
                call_id: row.get(0)?,
                protocol: row.get(1)?,
                customer_name: row.get(2)?,
                customer_verified: row.get(7)?,
                reason: row.get(3)?,
                position: 0,
                inserted_at: row.get(4)?,
                user_id: row.get(5)?,
                user_name: row.get(6)?,
            })
        })?
        .zip(1..)
        .map(|(entry, position)| entry.map(|entry| Waiting { position, ..entry }))
        .collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_follows_the_reference_examples() {
        let queue = Queue {
            size: 2,
            online_agents: 3,
            average_handle_secs: 45,
        };
        assert_eq!(queue.estimated_wait(queue.size), 30);
        assert_eq!(queue.estimated_wait(3), 45);
    }

    #[test]
    fn without_agents_online_one_is_assumed_and_the_estimate_rounds_up() {
        let queue = Queue {
            size: 0,
            online_agents: 0,
            average_handle_secs: DEFAULT_HANDLE_SECS,
        };
        assert_eq!(queue.estimated_wait(1), 300);
        let two = Queue {
            online_agents: 2,
            average_handle_secs: 45,
            ..queue
        };
        assert_eq!(two.estimated_wait(1), 23);
        assert_eq!(two.estimated_wait(0), 0);
    }
}
