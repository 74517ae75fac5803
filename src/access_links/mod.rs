//! Access links (seed "Liens d'Accès", SPEC §4.6): the URL a customer opens to join a
//! department's queue. Single-use or reusable, with an expiry, cancellable by staff.

pub mod routes;
pub mod rules;
pub mod store;

use std::collections::BTreeSet;

pub use rules::LinkStatus;
pub use store::{AccessLink, NewLink};

use crate::auth::token::random_token;
use crate::db::Tenant;
use crate::db::{PublicKind, Tenants};
use crate::error::ApiError;

/// Creates one link on behalf of user `created_by` (see [`issue_with`]).
pub async fn issue(
    tenants: &Tenants,
    base: &str,
    tenant: &Tenant,
    created_by: Option<String>,
    link: NewLink,
) -> Result<AccessLink, ApiError> {
    let (mut links, ()) = issue_with(tenants, base, tenant, created_by, vec![link], |_, _| Ok(())).await?;
    links.pop().ok_or_else(|| ApiError::internal("issued link missing"))
}

/// Creates `links` (one department) all or nothing, then runs `then` with them in the
/// same transaction (to store a link's URL on an appointment, say).
///
/// The tokens are registered in the registry's public index first and the tenant rows
/// written second (SPEC §4.7), so a token the widget can resolve always has its tenant;
/// if the tenant write fails, the index entries are removed again. `base` is the public
/// URL the links' URLs start with.
pub async fn issue_with<T, F>(
    tenants: &Tenants,
    base: &str,
    tenant: &Tenant,
    created_by: Option<String>,
    links: Vec<NewLink>,
    then: F,
) -> Result<(Vec<AccessLink>, T), ApiError>
where
    T: Send + 'static,
    F: FnOnce(&crate::db::WriteTx, &[AccessLink]) -> Result<T, ApiError> + Send + 'static,
{
    let tokens: Vec<String> = links.iter().map(|_| random_token()).collect();
    tenants
        .register_public(PublicKind::AccessLink, tokens.clone(), &tenant.slug)
        .await?;
    let base = base.to_string();
    let written_tokens = tokens.clone();
    let written = tenant
        .db
        .write(move |conn| {
            let departments: BTreeSet<&str> = links.iter().map(|l| l.department_id.as_str()).collect();
            for department in departments {
                store::check_department(conn, department)?;
            }
            let created = links
                .iter()
                .zip(&written_tokens)
                .map(|(link, token)| store::insert(conn, &base, link, token, created_by.as_deref()))
                .collect::<Result<Vec<_>, _>>()?;
            let extra = then(conn, &created)?;
            Ok((created, extra))
        })
        .await;
    if written.is_err() {
        tenants.forget_public(tokens).await;
    }
    written
}
