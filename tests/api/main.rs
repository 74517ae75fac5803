//! HTTP tests against the real server (one test binary, one module per area).

mod helpers;

mod appointments;
mod auth;
mod auth_extras;
mod conventions;
mod customers;
mod notifications;
mod organisation;
mod providers_guide;
mod roles;
mod webhooks;
