//! The command line (SPEC §6). Every subcommand accepts `--config` and `--data-dir`;
//! errors exit non-zero with one clear line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::{AppState, Server};
use crate::config::Config;
use crate::error::ApiError;
use crate::tenancy::{self, Owner};

#[derive(Debug, Parser)]
#[command(name = "voki", version, about = "Video-call customer service for clinics")]
pub struct Cli {
    /// Configuration file (default: ./config.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data folder (overrides `data_dir` and VOKI_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Do not create the demo tenant on an empty data dir.
        #[arg(long)]
        no_demo: bool,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Consistent online copy of every tenant into an empty folder (`--out DIR`), or
    /// `verify DIR` to check a backup.
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[command(subcommand)]
        command: Option<BackupCommand>,
    },
    /// Restore a backup into an empty (or missing) data dir, checking and migrating it.
    Restore {
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
    },
    /// Apply migrations to the registry and every tenant, then exit.
    Migrate,
    /// Print the OpenAPI document (as served at /api/openapi.json) and exit.
    Openapi,
    /// Check the e-mail settings.
    Email {
        #[command(subcommand)]
        command: EmailCommand,
    },
}

#[derive(Debug, Subcommand)]
enum EmailCommand {
    /// Send a test message from `smtp_from` through `smtp_url`; exits 1 with the SMTP
    /// reply when the server refuses it.
    Test {
        #[arg(long, value_name = "ADDR")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a tenant with its owner.
    Create {
        /// Tenant slug: lowercase letters, digits and '-', 2 to 63 characters.
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        #[arg(long)]
        owner_password: String,
        #[arg(long, default_value = "Owner")]
        owner_name: String,
    },
    /// List tenants.
    List,
    /// Suspend a tenant: its API answers 403 `Tenant suspended`, its public pages 404.
    Suspend { slug: String },
    /// Lift a suspension.
    Resume { slug: String },
    /// Move a tenant's database and files to `<data_dir>/trash/` and forget it.
    Delete {
        slug: String,
        /// Required: deleting is not undone by voki.
        #[arg(long)]
        yes: bool,
    },
    /// Write one archive with the tenant's database, files and public links (works while
    /// serving).
    Export {
        slug: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Import an archive written by `tenant export` (the slug must be new here).
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum BackupCommand {
    /// Check every database of a backup with `PRAGMA integrity_check`; exit 1 on any failure.
    Verify { dir: PathBuf },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Set a user's password (ends their sessions).
    SetPassword {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
    },
}

/// Parses the command line, runs the command, and turns any error into one line on
/// stderr and a failing exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let config = match load_config(&cli) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("voki: {message}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("voki: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("voki: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(cli: &Cli) -> Result<Config, String> {
    let mut config = Config::load(cli.config.as_deref()).map_err(|e| e.to_string())?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(Command::Serve { listen, no_demo }) = &cli.command {
        if let Some(listen) = listen {
            config.listen = listen.clone();
        }
        if *no_demo {
            config.bootstrap_demo = false;
        }
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log_format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Messages of errors meant for a terminal.
fn describe(err: ApiError) -> String {
    match err {
        ApiError::Validation(fields) => format!("invalid input: {fields:?}"),
        ApiError::Internal(why) => why,
        other => other.to_string(),
    }
}

async fn execute(command: Option<Command>, config: Config) -> Result<(), String> {
    let command = command.unwrap_or(Command::Serve {
        listen: None,
        no_demo: false,
    });
    // These two work on folders without opening (and so creating) the data dir.
    match command {
        Command::Backup {
            command: Some(BackupCommand::Verify { dir }),
            ..
        } => return verify_backup(&dir),
        Command::Restore { from } => return restore(&from, &config).await,
        _ => {}
    }
    if let Command::Openapi = command {
        let document = crate::app::openapi_for(&config.public_base());
        println!(
            "{}",
            serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let listen = config.listen_addr().ok_or("invalid listen address")?;
    let bootstrap_demo = config.bootstrap_demo;
    let public_url = config.public_base();
    let state = AppState::open(config).await.map_err(describe)?;
    match command {
        Command::Serve { .. } => {
            let stop = crate::app::shutdown_signal();
            if bootstrap_demo && let Some(login) = tenancy::bootstrap_demo(&state).await.map_err(describe)? {
                println!("Created the demo tenant. Log in with:");
                println!("  tenant:   {}", login.tenant);
                println!("  email:    {}", login.email);
                println!("  password: {}   (shown only this once)", login.password);
                println!("A patient joins the sample department's queue at {}", login.link_url);
            }
            let server = Server::start(state, listen).await.map_err(describe)?;
            println!("voki listening on http://{} (public URL {public_url})", server.addr);
            server.run_until(stop).await;
            Ok(())
        }
        Command::Tenant {
            command:
                TenantCommand::Create {
                    slug,
                    name,
                    owner_email,
                    owner_password,
                    owner_name,
                },
        } => {
            let owner = Owner {
                name: owner_name,
                email: owner_email,
                password: owner_password,
            };
            tenancy::create_tenant(&state, &slug, &name, owner)
                .await
                .map_err(|err| match err {
                    ApiError::Validation(fields) if fields.has("slug") => {
                        format!("cannot create tenant {slug:?}: the slug is invalid or already taken")
                    }
                    other => format!("cannot create tenant {slug:?}: {}", describe(other)),
                })?;
            println!("created tenant {slug}");
            Ok(())
        }
        Command::Tenant {
            command: TenantCommand::List,
        } => {
            for tenant in state.tenants.list().await.map_err(describe)? {
                let suspended = tenant
                    .suspended_at
                    .map(|at| format!("\tsuspended {at}"))
                    .unwrap_or_default();
                println!("{}\t{}\t{}{suspended}", tenant.slug, tenant.name, tenant.inserted_at);
            }
            Ok(())
        }
        Command::User {
            command:
                UserCommand::SetPassword {
                    tenant,
                    email,
                    password,
                },
        } => {
            set_password(&state, &tenant, &email, password).await?;
            println!("password set for {email} in {tenant}");
            Ok(())
        }
        Command::Backup { out: Some(out), .. } => {
            let count = crate::backup::run(&state.tenants, &out).await.map_err(describe)?;
            println!("backed up {count} tenant(s) to {}", out.display());
            Ok(())
        }
        Command::Backup { .. } => Err("give --out DIR to back up, or `backup verify DIR` to check a backup".into()),
        Command::Restore { .. } => Err("restore runs before the data dir is opened".into()),
        Command::Tenant { command } => tenant_lifecycle(&state, command).await,
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::Email {
            command: EmailCommand::Test { to },
        } => {
            let mailer = crate::email::smtp::Mailer::from_config(&state.config)?
                .ok_or("SMTP is not configured (set smtp_url or VOKI_SMTP_URL)")?;
            mailer
                .send_test(&to, "voki")
                .await
                .map_err(|failure| format!("SMTP error: {}", failure.reply()))?;
            println!("test e-mail accepted for {to}");
            Ok(())
        }
        Command::Openapi => Ok(()),
    }
}

async fn tenant_lifecycle(state: &AppState, command: TenantCommand) -> Result<(), String> {
    match command {
        TenantCommand::Suspend { slug } => {
            if !state.tenants.set_suspended(&slug, true).await.map_err(describe)? {
                return Err(format!("no tenant {slug:?}"));
            }
            println!("suspended tenant {slug}");
        }
        TenantCommand::Resume { slug } => {
            if !state.tenants.set_suspended(&slug, false).await.map_err(describe)? {
                return Err(format!("no tenant {slug:?}"));
            }
            println!("resumed tenant {slug}");
        }
        TenantCommand::Delete { slug, yes } => {
            if !yes {
                return Err(format!(
                    "deleting tenant {slug:?} needs --yes (its files go to the data dir's trash/)"
                ));
            }
            let trash = crate::lifecycle::delete(&state.tenants, &slug)
                .await
                .map_err(describe)?;
            println!("deleted tenant {slug}; its files are in {}", trash.display());
        }
        TenantCommand::Export { slug, out } => {
            let manifest = crate::lifecycle::export(&state.tenants, &slug, &out)
                .await
                .map_err(describe)?;
            println!(
                "exported tenant {slug} ({} public identifiers) to {}",
                manifest.public_index.len(),
                out.display()
            );
        }
        TenantCommand::Import { file } => {
            let settings = crate::db::DbSettings::from_config(&state.config);
            let manifest = crate::lifecycle::import(&state.tenants, &file, &settings)
                .await
                .map_err(describe)?;
            println!("imported tenant {}", manifest.slug);
        }
        TenantCommand::Create { .. } | TenantCommand::List => unreachable!("handled by execute"),
    }
    Ok(())
}

fn verify_backup(dir: &std::path::Path) -> Result<(), String> {
    let verification = crate::backup::verify(dir, true).map_err(describe)?;
    for (name, result) in &verification.checked {
        match result {
            Ok(()) => println!("ok\t{name}"),
            Err(why) => println!("FAILED\t{name}\t{why}"),
        }
    }
    let failures = verification.failures();
    if failures.is_empty() {
        println!(
            "backup {} is sound ({} tenant(s))",
            dir.display(),
            verification.tenants.len()
        );
        Ok(())
    } else {
        Err(format!(
            "backup {} failed its integrity check: {}",
            dir.display(),
            failures.join(", ")
        ))
    }
}

async fn restore(from: &std::path::Path, config: &Config) -> Result<(), String> {
    let settings = crate::db::DbSettings::from_config(config);
    let (from, to) = (from.to_path_buf(), config.data_dir.clone());
    let target = to.clone();
    let count = tokio::task::spawn_blocking(move || crate::backup::restore(&from, &to, &settings, true))
        .await
        .map_err(|e| e.to_string())?
        .map_err(describe)?;
    println!("restored {count} tenant(s) into {}", target.display());
    Ok(())
}

async fn set_password(state: &AppState, tenant: &str, email: &str, password: String) -> Result<(), String> {
    let mut errors = crate::error::FieldErrors::new();
    let password = crate::validation::password(&mut errors, "password", Some(&password));
    if !errors.is_empty() {
        return Err("the password must have at least 8 characters".into());
    }
    let db = state
        .tenants
        .get(tenant)
        .await
        .map_err(describe)?
        .ok_or(format!("no tenant {tenant:?}"))?;
    let hash = crate::auth::password::hash(password.unwrap_or_default())
        .await
        .map_err(describe)?;
    let email = email.to_string();
    let found = db
        .write(move |conn| {
            let Some(credentials) = crate::users::store::credentials_by_email(conn, &email)? else {
                return Ok(false);
            };
            let changes = crate::users::store::UserChanges {
                password_hash: Some(hash),
                ..Default::default()
            };
            crate::users::store::update(conn, &credentials.id, &changes)?;
            crate::auth::sessions::revoke_all(conn, &credentials.id, None)?;
            Ok(true)
        })
        .await
        .map_err(describe)?;
    if found {
        Ok(())
    } else {
        Err(format!("no user with that e-mail in tenant {tenant:?}"))
    }
}
