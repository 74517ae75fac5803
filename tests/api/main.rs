//! HTTP tests against the real server (one test binary, one module per area).

mod helpers;

mod access_links;
mod analytics;
mod appointments;
mod audit;
mod auth;
mod auth_extras;
mod billing;
mod browser;
mod calls;
mod console;
mod conventions;
mod customers;
mod email;
mod evaluations;
mod export;
mod integrations;
mod notifications;
mod operations;
mod organisation;
mod providers_guide;
mod realtime;
mod roles;
mod scheduling;
mod security;
mod smtp_sink;
mod tags;
mod webhooks;
mod widget;
