//! The OpenAPI 3.1 document, generated from the handlers' annotations and served at
//! `GET /api/openapi.json`.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "voki",
        description = "Video-call customer service for clinics, compatible with the Voki v4.0 API. \
            Tenant endpoints take `Authorization: Bearer <access_token>` with `X-Tenant: <slug>`, \
            or `Authorization: Bearer vk_<slug>_…` (an API key, which names its tenant; `X-Tenant` \
            is then optional and must match when sent). The widget, booking and manage endpoints \
            are public.",
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
        (name = "api-keys", description = "API keys for integrators: shown once, role-capped, revocable at once"),
        (name = "audit", description = "The audit log: who created, changed, deleted, acted on or read what"),
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
                    .description(Some("An access token from /api/auth/login, with the X-Tenant header"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("vk_<slug>_<random>")
                    .description(Some("An API key from POST /api/v1/api-keys; X-Tenant optional"))
                    .build(),
            ),
        );
    }
}

/// Adds the answers every operation of a kind can give (SPEC §2.3), where its own
/// annotation does not list them: 400 (a malformed query or body) everywhere; 401 and 403
/// (no or a bad token; a role too low, or a token limited to MFA enrolment) on
/// authenticated operations; 413 and 422 where a body is taken; 422 on lists (an unknown
/// `sort_by`).
pub fn add_common_responses(document: &mut utoipa::openapi::OpenApi) {
    let error = |description: &str| -> RefOr<Response> {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    let add = |operation: &mut Operation, code: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| error(description));
    };
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            add(
                operation,
                "400",
                "Malformed JSON, wrong content type, or a query parameter of the wrong type",
            );
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                add(
                    operation,
                    "401",
                    "Missing, invalid or expired token, or an X-Tenant other than the token's",
                );
                add(operation, "403", "Role too low, or the token only allows MFA enrolment");
            }
            let sorted = operation
                .parameters
                .iter()
                .flatten()
                .any(|parameter| matches!(parameter, RefOr::T(parameter) if parameter.name == "sort_by"));
            if sorted {
                add(operation, "422", "Unknown sort_by or sort_order");
            }
            if operation.request_body.is_some() {
                add(operation, "413", "Body over the limit");
                add(
                    operation,
                    "422",
                    "Validation failed: {\"errors\": {\"<field>\": [\"<message>\"]}}",
                );
            }
        }
    }
}

/// Finishes the generated document so that `openapi-spec-validator` accepts it and
/// generated clients work (SPEC §7.4, §7.8): the common error answers, a description on
/// every response, `servers` = the public URL, and on every authenticated tenant
/// operation the optional `X-Tenant` header and both ways to authenticate (a JWT, or an
/// API key except where keys are refused: `/api/auth/*`, `/api/v1/users/me*`).
pub fn complete(document: &mut utoipa::openapi::OpenApi, public_url: &str) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{Required, ServerBuilder};

    add_common_responses(document);
    document.servers = Some(vec![
        ServerBuilder::new()
            .url(public_url)
            .description(Some("This server"))
            .build(),
    ]);
    let x_tenant = ParameterBuilder::new()
        .name("X-Tenant")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "The tenant slug. Required with a JWT (it must equal the token's tenant); optional with \
             an API key (it must match the key's tenant when sent).",
        ))
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .pattern(Some("^[a-z0-9][a-z0-9-]{1,62}$")),
        ))
        .build();
    for (path, item) in document.paths.paths.iter_mut() {
        let keys_allowed = !(path.starts_with("/api/auth/") || path.starts_with("/api/v1/users/me"));
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, response) in operation.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.trim().is_empty()
                {
                    response.description = describe_status(status).to_string();
                }
            }
            let authenticated = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            if !authenticated || path == "/metrics" || path.starts_with("/socket/") {
                continue;
            }
            let parameters = operation.parameters.get_or_insert_with(Vec::new);
            if !parameters
                .iter()
                .any(|p| matches!(p, RefOr::T(p) if p.name == "X-Tenant"))
            {
                parameters.push(RefOr::T(x_tenant.clone()));
            }
            if keys_allowed {
                let security = operation.security.get_or_insert_with(Vec::new);
                security.push(SecurityRequirement::new("api_key", Vec::<String>::new()));
            }
        }
    }
}

fn describe_status(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "204" => "No content",
        "400" => "Malformed request",
        "401" => "Not authenticated",
        "403" => "Forbidden",
        "404" => "Not found",
        "409" => "Conflict",
        "413" => "Body over the limit",
        "422" => "Validation failed",
        "429" => "Rate limited",
        "503" => "Unavailable",
        _ => "Response",
    }
}
