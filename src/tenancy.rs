//! Creating tenants (CLI and first start) and the demo tenant.

use crate::access_links::{self, NewLink};
use crate::auth::{Role, password};
use crate::company;
use crate::db::Tenant;
use crate::departments::store::{self as departments, DepartmentFields};
use crate::error::{ApiError, FieldErrors};
use crate::state::AppState;
use crate::users::store::{self as users, NewUser};
use crate::validation;

/// The first user of a new tenant, always an owner.
pub struct Owner {
    pub name: String,
    pub email: String,
    pub password: String,
}

/// Creates tenant `slug` with its company row and owner. The file is complete before
/// the registry lists the tenant.
pub async fn create_tenant(state: &AppState, slug: &str, name: &str, owner: Owner) -> Result<(), ApiError> {
    create_tenant_with(state, slug, name, owner, |_, _| Ok(())).await
}

async fn create_tenant_with<F>(state: &AppState, slug: &str, name: &str, owner: Owner, extra: F) -> Result<(), ApiError>
where
    F: FnOnce(&crate::db::WriteTx, &str) -> Result<(), ApiError> + Send + 'static,
{
    let mut errors = FieldErrors::new();
    let name = validation::required_text(&mut errors, "name", Some(name), 200);
    let owner_name = validation::required_text(&mut errors, "owner_name", Some(&owner.name), 200);
    let email = validation::email(&mut errors, "owner_email", Some(&owner.email), true);
    let owner_password = validation::password(&mut errors, "owner_password", Some(&owner.password));
    errors.into_result()?;
    let (Some(name), Some(owner_name), Some(email), Some(owner_password)) = (name, owner_name, email, owner_password)
    else {
        return Err(ApiError::internal("validated tenant fields missing"));
    };
    let password_hash = password::hash(owner_password).await?;
    let (slug_owned, company_name, timezone) = (slug.to_string(), name.clone(), state.config.default_timezone.clone());
    let locale = state.config.default_locale.clone();
    state
        .tenants
        .create(slug, &name, move |conn| {
            company::store::insert(conn, &slug_owned, &company_name, &timezone)?;
            company::store::set_locale(conn, &locale)?;
            let owner = users::insert(
                conn,
                &NewUser {
                    name: owner_name,
                    email,
                    password_hash,
                    role: Role::Owner,
                    active: true,
                    locale: "pt-BR".into(),
                    avatar_url: None,
                },
            )?;
            extra(conn, &owner.id)
        })
        .await
}

/// How to log in to the demo tenant (the password exists only here), and a link a
/// patient can open to join the sample department's queue.
pub struct DemoLogin {
    pub tenant: String,
    pub email: String,
    pub password: String,
    pub link_url: String,
}

pub const DEMO_SLUG: &str = "demo";

/// On a data dir without any tenant, creates `demo` with an owner whose random password
/// is returned once, a sample department the owner belongs to, and one active reusable
/// access link to it (SPEC §6).
pub async fn bootstrap_demo(state: &AppState) -> Result<Option<DemoLogin>, ApiError> {
    if !state.tenants.list().await?.is_empty() {
        return Ok(None);
    }
    let mut login = DemoLogin {
        tenant: DEMO_SLUG.into(),
        email: "admin@demo.local".into(),
        password: crate::auth::token::random_token()[..16].to_string(),
        link_url: String::new(),
    };
    let owner = Owner {
        name: "Demo Admin".into(),
        email: login.email.clone(),
        password: login.password.clone(),
    };
    create_tenant_with(state, DEMO_SLUG, "Demo Clinic", owner, |conn, owner_id| {
        let department = departments::insert(
            conn,
            &DepartmentFields {
                name: Some("General Practice".into()),
                description: Some(Some("Sample department created with the demo tenant".into())),
                ..Default::default()
            },
        )?;
        departments::add_member(conn, &department.id, owner_id)
    })
    .await?;
    // The link's token goes into the registry index first, so it is issued once the
    // tenant is registered.
    let db = state
        .tenants
        .get(DEMO_SLUG)
        .await?
        .ok_or_else(|| ApiError::internal("demo tenant missing after creation"))?;
    let department_id: String = db
        .read(|conn| {
            Ok(
                conn.query_row("SELECT id FROM departments ORDER BY inserted_at LIMIT 1", [], |row| {
                    row.get(0)
                })?,
            )
        })
        .await?;
    let tenant = Tenant {
        slug: DEMO_SLUG.into(),
        db,
    };
    let link = NewLink {
        department_id,
        customer_name: None,
        customer_email: None,
        customer_phone: None,
        expires_at: crate::time::now() + chrono::Duration::days(30),
        reusable: true,
    };
    login.link_url = access_links::issue(&state.tenants, &state.config.public_base(), &tenant, None, link)
        .await?
        .url;
    Ok(Some(login))
}
