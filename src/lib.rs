//! voki: a self-contained video-call customer-service platform for clinics.
//!
//! The binary (`src/main.rs`) only parses the command line and calls [`cli::run`];
//! tests build the same [`app::router`] or start the same [`app::Server`].

pub mod access_links;
pub mod actor;
pub mod analytics;
pub mod api_keys;
pub mod app;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod billing;
pub mod calendar;
pub mod calls;
pub mod cli;
pub mod company;
pub mod config;
pub mod console;
pub mod customers;
pub mod db;
pub mod departments;
pub mod email;
pub mod error;
pub mod evaluations;
pub mod events;
pub mod export;
pub mod http;
pub mod lifecycle;
pub mod limits;
pub mod metrics;
pub mod notifications;
pub mod providers;
pub mod realtime;
pub mod schedule;
pub mod scheduling;
pub mod sectors;
pub mod state;
pub mod sweeper;
pub mod tags;
pub mod tenancy;
#[cfg(test)]
mod testing;
pub mod time;
pub mod users;
pub mod validation;
pub mod webhooks;
pub mod widget;
