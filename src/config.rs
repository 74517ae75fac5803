//! Configuration: built-in defaults, then `config.toml`, then `VOKI_*` environment
//! variables, then command-line flags; each layer overrides the one before.
//!
//! Every key is declared once in [`config_keys!`] below, which generates the typed
//! [`Config`], the optional [`ConfigLayer`] read from TOML, and the environment overlay.
//! `config.toml.example` documents the same keys with the same defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

/// Why the configuration could not be loaded. The message always names the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

macro_rules! config_keys {
    ($( $(#[doc = $doc:literal])* $key:ident : $ty:ty = $default:expr ),* $(,)?) => {
        /// The effective configuration of one process.
        #[derive(Debug, Clone)]
        pub struct Config {
            $( $(#[doc = $doc])* pub $key: $ty, )*
        }

        impl Default for Config {
            fn default() -> Self {
                Config { $( $key: $default, )* }
            }
        }

        /// One layer of configuration as written in a TOML file: every key optional,
        /// unknown keys refused so a typo is an error instead of a silent default.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ConfigLayer {
            $( $key: Option<$ty>, )*
        }

        /// `scheme://host[:port]`, as browsers send in `Origin`.
fn is_origin(text: &str) -> bool {
    reqwest::Url::parse(text).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.path() == "/"
            && url.query().is_none()
            && url.username().is_empty()
    })
}

impl Config {
            /// Every configuration key, in declaration order.
            pub const KEYS: &'static [&'static str] = &[$( stringify!($key), )*];

            fn apply_layer(&mut self, layer: ConfigLayer) {
                $( if let Some(value) = layer.$key { self.$key = value; } )*
            }

            /// Overlays `VOKI_<KEY>` variables taken from `lookup`.
            fn apply_env(&mut self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
                $(
                    let var = concat!("VOKI_", stringify!($key)).to_ascii_uppercase();
                    if let Some(raw) = lookup(&var) {
                        self.$key = <$ty as EnvValue>::parse_env(&raw).map_err(|why| {
                            ConfigError(format!("invalid value for `{}` (from {var}): {why}", stringify!($key)))
                        })?;
                    }
                )*
                Ok(())
            }
        }
    };
}

config_keys! {
    /// Address the HTTP server listens on.
    listen: String = "127.0.0.1:8080".into(),
    /// Folder holding `voki.db`, `tenants/`, `files/` and `secret.key`.
    data_dir: PathBuf = PathBuf::from("./data"),
    /// Public base URL of this server, used in access-link URLs and e-mails.
    /// Empty: `http://<listen>`. Behind a reverse proxy, set the URL patients reach.
    public_url: String = String::new(),
    /// HS256 signing secret for access tokens. Empty: generated once into `secret.key`.
    jwt_secret: String = String::new(),
    /// Seconds between two runs of the background sweeper.
    sweep_interval_secs: u64 = 30,
    /// Log filter in `tracing` syntax, e.g. `info` or `voki=debug,tower_http=info`.
    log: String = "info,refinery_core=warn".into(),
    /// Log format: `text` or `json`.
    log_format: String = "text".into(),
    /// SQLite `synchronous` pragma: `OFF`, `NORMAL`, `FULL` or `EXTRA`.
    synchronous: String = "FULL".into(),
    /// Create the `demo` tenant on first start when no tenant exists.
    bootstrap_demo: bool = true,
    /// Time zone of a new tenant's company (IANA name).
    default_timezone: String = "America/Sao_Paulo".into(),
    /// How many tenant databases may be open at once; the least recently used is closed.
    max_open_tenants: u64 = 64,
    /// Seconds after which an unused tenant database is closed.
    tenant_idle_secs: u64 = 300,
    /// Read connections per open tenant database.
    reader_pool_size: u64 = 4,
    /// Largest accepted call-file upload, in MiB.
    max_upload_mb: u64 = 25,
    /// Largest number of concurrently active calls per tenant (plan limit; 0 = unlimited).
    max_concurrent_calls: u64 = 10,
    /// Largest number of active users per tenant (plan limit; 0 = unlimited).
    max_users: u64 = 0,
    /// Largest number of active departments per tenant (plan limit; 0 = unlimited).
    max_departments: u64 = 0,
    /// Let other sites embed the patient's call page (`/call/:token`) in a frame.
    call_page_embedding: bool = false,
    /// Bearer token required by `GET /metrics`; empty: no token needed.
    metrics_token: String = String::new(),
    /// Seconds a waiting customer whose socket closed has to reconnect before the call is
    /// marked missed.
    socket_reconnect_grace_secs: u64 = 60,
    /// Seconds a socket may send nothing, not even a heartbeat (Phoenix clients send one
    /// every 30 s), before the server closes it.
    socket_idle_secs: u64 = 60,
    /// Unit of the webhook retry delays (1, 3, 10, 30, 60, 180, 360 units: 1 min … 6 h).
    webhook_retry_base_secs: u64 = 60,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed for the client IP.
    trusted_proxies: Vec<String> = Vec::new(),
    /// Login, MFA and password-reset attempts per minute per client IP and e-mail (0 = off).
    rate_limit_auth_per_minute: u64 = 5,
    /// The same endpoints together, per minute per client IP (0 = off).
    rate_limit_auth_ip_per_minute: u64 = 30,
    /// Token refreshes per minute per client IP (0 = off).
    rate_limit_refresh_per_minute: u64 = 60,
    /// Public widget requests per minute per client IP (0 = off).
    rate_limit_widget_per_minute: u64 = 30,
    /// Booking-page and manage-link API requests per minute per client IP, one bucket for
    /// both, separate from the widget's (0 = off).
    rate_limit_booking_per_minute: u64 = 30,
    /// Minutes before an appointment at which its agent gets a reminder notification.
    /// Environment: comma-separated (`VOKI_REMINDER_OFFSETS_MINUTES=1440,15`); empty: none.
    reminder_offsets_minutes: Vec<u64> = vec![1440, 15],
    /// STUN servers handed to browsers (`stun:host:port`). Empty: none, which is enough on
    /// one LAN; across the internet set your own or a public one.
    stun_urls: Vec<String> = Vec::new(),
    /// TURN servers (`turn:host:3478?transport=udp`, `turns:host:5349`), e.g. coturn with
    /// `use-auth-secret`. Empty: no TURN; calls behind strict NATs may then fail.
    turn_urls: Vec<String> = Vec::new(),
    /// coturn's `static-auth-secret`; TURN credentials are derived from it per request.
    turn_secret: String = String::new(),
    /// Seconds a set of TURN credentials stays valid.
    turn_ttl_secs: u64 = 3600,
    /// Folder of the scheduled backups (`<backup_dir>/<YYYYMMDDTHHMMSSZ>/`). Empty: off.
    backup_dir: PathBuf = PathBuf::new(),
    /// Minutes between two scheduled backups; the first runs one interval after start.
    backup_interval_minutes: u64 = 1440,
    /// Scheduled backups kept; the oldest beyond this are removed.
    backup_keep: u64 = 7,
    /// WAL pages after which a checkpoint runs beside the writer (4000: 16 MiB of WAL).
    /// 0: never; leave checkpoints to Litestream (docs/replication.md), and voki's own on
    /// close become PASSIVE.
    wal_autocheckpoint: u64 = 4000,
    /// Origins (`https://app.example.com`) whose browser apps may call the API (CORS).
    /// Environment: comma-separated. Empty: no CORS headers at all.
    cors_allowed_origins: Vec<String> = Vec::new(),
    /// SMTP server for e-mail, in lettre's URL form: `smtp://user:pass@host:587` (STARTTLS
    /// required), `smtps://user:pass@host:465` (implicit TLS), `smtp://host:25?tls=none` or
    /// `?tls=opportunistic` for a LAN relay. Empty: no e-mail is sent (rows are `skipped`).
    smtp_url: String = String::new(),
    /// The sender address; the display name of patient and staff e-mails is the company's.
    smtp_from: String = "voki <no-reply@localhost>".into(),
    /// Language of a new tenant's e-mails: `en`, `pt-BR` or `fr`.
    default_locale: String = "en".into(),
}

impl Config {
    /// Loads defaults, then `file` (or `./config.toml` if it exists), then the process
    /// environment. Flags are applied by the caller afterwards, then [`Config::validate`].
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with(file, &|name| std::env::var(name).ok())
    }

    /// [`Config::load`] with an explicit environment, for tests.
    pub fn load_with(file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let default_file = Path::new("config.toml");
        let file = match file {
            Some(path) => Some(path.to_path_buf()),
            None if default_file.exists() => Some(default_file.to_path_buf()),
            None => None,
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
            let layer = parse_layer(&text).map_err(|why| ConfigError(format!("{why} (in {})", path.display())))?;
            config.apply_layer(layer);
        }
        config.apply_env(env)?;
        Ok(config)
    }

    /// Checks values that parse but make no sense; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| Err(ConfigError(format!("invalid value for `{key}`: {why}")));
        if self.listen_addr().is_none() {
            return bad(
                "listen",
                format!("{:?} is not an address like 127.0.0.1:8080", self.listen),
            );
        }
        if !(self.public_url.is_empty()
            || self.public_url.starts_with("http://")
            || self.public_url.starts_with("https://"))
        {
            return bad(
                "public_url",
                format!("{:?} must start with http:// or https://", self.public_url),
            );
        }
        if self.sweep_interval_secs == 0 {
            return bad("sweep_interval_secs", "must be at least 1".into());
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return bad("log_format", format!("{:?} must be text or json", self.log_format));
        }
        if !matches!(
            self.synchronous.to_ascii_uppercase().as_str(),
            "OFF" | "NORMAL" | "FULL" | "EXTRA"
        ) {
            return bad(
                "synchronous",
                format!("{:?} must be OFF, NORMAL, FULL or EXTRA", self.synchronous),
            );
        }
        if chrono_tz::Tz::from_str(&self.default_timezone).is_err() {
            return bad(
                "default_timezone",
                format!("{:?} is not an IANA time zone", self.default_timezone),
            );
        }
        if self.max_open_tenants == 0 {
            return bad("max_open_tenants", "must be at least 1".into());
        }
        if self.reader_pool_size == 0 || self.reader_pool_size > 64 {
            return bad("reader_pool_size", "must be between 1 and 64".into());
        }
        if self.socket_idle_secs == 0 {
            return bad("socket_idle_secs", "must be at least 1".into());
        }
        if self.max_upload_mb == 0 {
            return bad("max_upload_mb", "must be at least 1".into());
        }
        if let Some(proxy) = self
            .trusted_proxies
            .iter()
            .find(|p| p.parse::<std::net::IpAddr>().is_err())
        {
            return bad("trusted_proxies", format!("{proxy:?} is not an IP address"));
        }
        if let Some(origin) = self.cors_allowed_origins.iter().find(|origin| !is_origin(origin)) {
            return bad(
                "cors_allowed_origins",
                format!("{origin:?} is not an origin (scheme://host[:port])"),
            );
        }
        let mut offsets = self.reminder_offsets_minutes.clone();
        offsets.sort_unstable();
        offsets.dedup();
        if offsets.len() != self.reminder_offsets_minutes.len() {
            return bad("reminder_offsets_minutes", "an offset is repeated".into());
        }
        if let Some(offset) = offsets.iter().find(|o| !(1..=MAX_REMINDER_OFFSET_MINUTES).contains(*o)) {
            return bad(
                "reminder_offsets_minutes",
                format!("{offset} is not between 1 and {MAX_REMINDER_OFFSET_MINUTES} minutes"),
            );
        }
        if let Some(url) = self
            .stun_urls
            .iter()
            .find(|u| !(u.starts_with("stun:") || u.starts_with("stuns:")))
        {
            return bad("stun_urls", format!("{url:?} must start with stun: or stuns:"));
        }
        if let Some(url) = self
            .turn_urls
            .iter()
            .find(|u| !(u.starts_with("turn:") || u.starts_with("turns:")))
        {
            return bad("turn_urls", format!("{url:?} must start with turn: or turns:"));
        }
        if !self.turn_urls.is_empty() && self.turn_secret.is_empty() {
            return bad("turn_secret", "must be set when turn_urls is set".into());
        }
        if self.turn_ttl_secs < 60 {
            return bad("turn_ttl_secs", "must be at least 60".into());
        }
        if self.backup_interval_minutes == 0 {
            return bad("backup_interval_minutes", "must be at least 1".into());
        }
        if self.backup_keep == 0 {
            return bad("backup_keep", "must be at least 1".into());
        }
        if let Err(why) = crate::email::smtp::check_url(&self.smtp_url) {
            return bad("smtp_url", why);
        }
        if self.smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            return bad(
                "smtp_from",
                format!(
                    "{:?} is not an address like `voki <no-reply@example.org>`",
                    self.smtp_from
                ),
            );
        }
        if !crate::email::LOCALES.contains(&self.default_locale.as_str()) {
            return bad(
                "default_locale",
                format!("{:?} must be en, pt-BR or fr", self.default_locale),
            );
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log).is_err() {
            return bad("log", format!("{:?} is not a log filter", self.log));
        }
        Ok(())
    }

    /// The IP addresses of `trusted_proxies` (validated).
    pub fn trusted_proxy_addrs(&self) -> Vec<std::net::IpAddr> {
        self.trusted_proxies.iter().filter_map(|p| p.parse().ok()).collect()
    }

    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen.parse().ok()
    }

    /// `public_url` without a trailing slash, ready to have a path appended.
    pub fn public_base(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }
}

/// Parses a TOML layer. A bad value is reported with its key: each key is checked on
/// its own first, because a whole-document error does not always say which key failed.
fn parse_layer(text: &str) -> Result<ConfigLayer, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| format!("invalid TOML: {}", e.message().trim()))?;
    for (key, value) in &table {
        let single = toml::Table::from_iter([(key.clone(), value.clone())]);
        if let Err(e) = toml::Value::Table(single).try_into::<ConfigLayer>() {
            return Err(format!(
                "invalid value for `{key}`: {}",
                e.to_string().lines().next().unwrap_or("").trim()
            ));
        }
    }
    toml::Value::Table(table)
        .try_into::<ConfigLayer>()
        .map_err(|e| e.to_string().trim().to_string())
}

/// The largest reminder offset: 30 days.
const MAX_REMINDER_OFFSET_MINUTES: u64 = 30 * 24 * 60;

/// How a value is read from an environment variable.
trait EnvValue: Sized {
    fn parse_env(raw: &str) -> Result<Self, String>;
}

impl EnvValue for String {
    fn parse_env(raw: &str) -> Result<Self, String> {
        Ok(raw.to_string())
    }
}

impl EnvValue for PathBuf {
    fn parse_env(raw: &str) -> Result<Self, String> {
        Ok(PathBuf::from(raw))
    }
}

impl EnvValue for u64 {
    fn parse_env(raw: &str) -> Result<Self, String> {
        raw.trim().parse().map_err(|_| format!("{raw:?} is not a whole number"))
    }
}

/// Lists are comma-separated in the environment: `VOKI_STUN_URLS=stun:a:3478,stun:b:3478`.
impl EnvValue for Vec<String> {
    fn parse_env(raw: &str) -> Result<Self, String> {
        Ok(raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect())
    }
}

/// A comma-separated list; an empty value is the empty list.
impl EnvValue for Vec<u64> {
    fn parse_env(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(u64::parse_env)
            .collect()
    }
}

impl EnvValue for bool {
    fn parse_env(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(format!("{raw:?} is not true or false")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn environment_overrides_file_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("voki.toml");
        std::fs::write(&file, "sweep_interval_secs = 5\nlisten = \"127.0.0.1:9000\"\n").unwrap();
        let config = Config::load_with(Some(&file), &env(&[("VOKI_LISTEN", "127.0.0.1:9100")])).unwrap();
        assert_eq!(config.sweep_interval_secs, 5);
        assert_eq!(config.listen, "127.0.0.1:9100");
        assert_eq!(config.synchronous, "FULL");
    }

    /// `config.toml.example` documents every key, and with exactly the default values.
    #[test]
    fn the_example_file_lists_every_key_with_its_default() {
        let text = include_str!("../config.toml.example");
        let table: toml::Table = toml::from_str(text).unwrap();
        let mut listed: Vec<&str> = table.keys().map(String::as_str).collect();
        let mut keys = Config::KEYS.to_vec();
        listed.sort();
        keys.sort();
        assert_eq!(listed, keys);
        let mut config = Config::default();
        config.apply_layer(parse_layer(text).unwrap());
        assert_eq!(format!("{config:?}"), format!("{:?}", Config::default()));
        config.validate().unwrap();
    }

    #[test]
    fn lists_come_from_the_environment_comma_separated() {
        let config = Config::load_with(
            None,
            &env(&[("VOKI_STUN_URLS", "stun:a.example:3478, stun:b.example:3478,")]),
        )
        .unwrap();
        assert_eq!(config.stun_urls, ["stun:a.example:3478", "stun:b.example:3478"]);
        assert!(config.turn_urls.is_empty());
    }

    #[test]
    fn unknown_or_mistyped_keys_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("voki.toml");
        std::fs::write(&file, "sweep_intervall_secs = 5\n").unwrap();
        let err = Config::load_with(Some(&file), &env(&[])).unwrap_err();
        assert!(err.0.contains("sweep_intervall_secs"), "{err}");

        let err = Config::load_with(None, &env(&[("VOKI_SWEEP_INTERVAL_SECS", "soon")])).unwrap_err();
        assert!(err.0.contains("sweep_interval_secs"), "{err}");

        let config = Config {
            turn_urls: vec!["turn:turn.example.org:3478".into()],
            ..Config::default()
        };
        assert!(config.validate().unwrap_err().0.contains("turn_secret"));

        let config = Config {
            default_timezone: "Mars/Olympus".into(),
            ..Config::default()
        };
        assert!(config.validate().unwrap_err().0.contains("default_timezone"));
    }

    #[test]
    fn reminder_offsets_come_comma_separated_from_the_environment_and_are_checked() {
        assert_eq!(Config::default().reminder_offsets_minutes, vec![1440, 15]);
        let config = Config::load_with(None, &env(&[("VOKI_REMINDER_OFFSETS_MINUTES", " 60, 5 ")])).unwrap();
        assert_eq!(config.reminder_offsets_minutes, vec![60, 5]);
        let none = Config::load_with(None, &env(&[("VOKI_REMINDER_OFFSETS_MINUTES", "")])).unwrap();
        assert!(none.reminder_offsets_minutes.is_empty());
        assert!(none.validate().is_ok());

        let err = Config::load_with(None, &env(&[("VOKI_REMINDER_OFFSETS_MINUTES", "15,soon")])).unwrap_err();
        assert!(err.0.contains("reminder_offsets_minutes"), "{err}");
        for bad in [vec![0], vec![15, 15], vec![MAX_REMINDER_OFFSET_MINUTES + 1]] {
            let config = Config {
                reminder_offsets_minutes: bad.clone(),
                ..Config::default()
            };
            let err = config.validate().unwrap_err();
            assert!(err.0.contains("reminder_offsets_minutes"), "{bad:?}: {err}");
        }
    }
}
