//! HTTP tests against the real server (one test binary, one module per area).

mod helpers;

mod access_links;
mod auth;
mod calls;
mod conventions;
mod customers;
mod evaluations;
mod organisation;
mod providers_guide;
mod roles;
mod tags;
mod widget;
