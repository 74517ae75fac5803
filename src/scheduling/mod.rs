//! Self-scheduling (SPEC §7.3): agents' working hours, free slots, the public booking
//! page's API and the patient's manage link. `rules` computes slots without a database,
//! `store` is the SQL, `routes` the staff endpoints, `public` the booking and manage
//! endpoints (no tenant header; tokens resolve through the registry's public index).
//!
//! Every appointment this module creates, cancels or moves goes through the store
//! functions staff use (`appointments::store::{book, act, update}`), so webhooks and
//! e-mails fire the same way on both paths.

pub mod public;
pub mod routes;
pub mod rules;
pub mod store;

use crate::auth::token::random_token;
use crate::db::{PublicKind, Tenants};
use crate::error::ApiError;

pub use store::{attach_manage_token, manage_url};

/// A manage-link token registered in the registry's public index for tenant `slug`, to be
/// given to an appointment with [`attach_manage_token`] inside its create transaction.
/// If that transaction fails, hand the token to [`release_manage_token`].
pub async fn reserve_manage_token(tenants: &Tenants, slug: &str) -> Result<String, ApiError> {
    let token = random_token();
    tenants
        .register_public(PublicKind::Manage, vec![token.clone()], slug)
        .await?;
    Ok(token)
}

/// Removes the index entry of a reserved token that no appointment got.
pub async fn release_manage_token(tenants: &Tenants, token: String) {
    tenants.forget_public(vec![token]).await;
}
