//! The OpenAPI 3.1 document, generated from the handlers' annotations and served at
//! `GET /api/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "voki",
        description = "Video-call customer service for clinics, compatible with the Voki v4.0 API. \
            Tenant endpoints need `Authorization: Bearer <access_token>` and `X-Tenant: <slug>`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Login, token refresh and logout"),
        (name = "users", description = "Staff users of a tenant"),
        (name = "departments", description = "Departments (call queues) and their members"),
        (name = "sectors", description = "Sectors group departments"),
        (name = "providers", description = "Service providers: partner companies whose professionals take calls"),
        (name = "company", description = "Tenant settings"),
        (name = "customers", description = "Customers (patients), search and merge"),
        (name = "webhooks", description = "Outgoing webhooks: subscriptions and delivery log"),
        (name = "appointments", description = "Scheduled video calls: booking without double booking, conflicts, status actions, overdue flag. `POST /appointments/{id}/access-link` issues a reusable link for the patient."),
        (name = "notifications", description = "The caller's own notifications: appointment reminders, overdue appointments, assigned calls"),
        (name = "access-links", description = "Access links: the URLs customers open to join a queue"),
        (name = "widget", description = "Public customer side: validate a link, join the queue, status, leave, evaluate, ICE servers"),
        (name = "calls", description = "Calls: queue, assignment, lifecycle, files, notes, tags"),
        (name = "tags", description = "Tags (a tree) for calls"),
        (name = "evaluations", description = "Customer ratings of calls and their statistics"),
        (name = "analytics", description = "Reports computed live from the calls: overview, by hour, per agent, per service provider, trends"),
        (name = "export", description = "CSV exports of calls, customers and access links, streamed"),
        (name = "realtime", description = "The Phoenix Channels v2 WebSocket: queue, presence, notifications, call signalling and chat, dashboard"),
        (name = "operations", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
