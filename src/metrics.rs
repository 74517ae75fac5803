//! Process-wide figures for `GET /metrics` (`crate::http::metrics`): responses by status
//! class, time spent answering, the last good backup.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use axum::http::StatusCode;

/// Request counters by status class, and the total time spent answering.
#[derive(Default)]
pub struct Metrics {
    pub(crate) by_class: [AtomicU64; 5],
    pub(crate) duration_micros: AtomicU64,
    /// Unix time of the last successful scheduled backup; 0 before the first.
    pub backup_last_success: AtomicI64,
}

impl Metrics {
    pub(crate) fn record(&self, status: StatusCode, micros: u64) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        self.duration_micros.fetch_add(micros, Ordering::Relaxed);
    }
}
