//! ICE servers for the browsers' WebRTC connections: the configured STUN URLs, and TURN
//! with time-limited credentials in coturn's REST-API scheme (`use-auth-secret`):
//! `username = "<unix expiry>:<label>"`, `credential = base64(HMAC-SHA1(secret, username))`.
//! coturn recomputes the same HMAC with its `static-auth-secret` and refuses expired names.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde::Serialize;
use sha1::Sha1;
use utoipa::ToSchema;

use crate::config::Config;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `{"ice_servers": [...], "ttl": seconds}`, ready for `new RTCPeerConnection({iceServers})`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IceConfig {
    pub ice_servers: Vec<IceServer>,
    /// Seconds the TURN credentials stay valid.
    pub ttl: u64,
}

/// The coturn REST credential of `username`.
pub fn turn_credential(secret: &str, username: &str) -> String {
    let mut mac =
        <hmac::Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(username.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The ICE servers for a browser, TURN credentials labelled `label` (a call id, or
/// `voki`) and valid until `now + turn_ttl_secs`.
pub fn ice_config(config: &Config, label: &str, now: i64) -> IceConfig {
    let mut ice_servers = Vec::new();
    if !config.stun_urls.is_empty() {
        ice_servers.push(IceServer {
            urls: config.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    if !config.turn_urls.is_empty() && !config.turn_secret.is_empty() {
        let expiry = now.saturating_add(i64::try_from(config.turn_ttl_secs).unwrap_or(i64::MAX));
        let username = format!("{expiry}:{label}");
        ice_servers.push(IceServer {
            urls: config.turn_urls.clone(),
            credential: Some(turn_credential(&config.turn_secret, &username)),
            username: Some(username),
        });
    }
    IceConfig {
        ice_servers,
        ttl: config.turn_ttl_secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_credentials_follow_the_coturn_rest_scheme() {
        // HMAC-SHA1("secret", "1700000000:voki"), checked with
        // `printf %s 1700000000:voki | openssl dgst -sha1 -hmac secret -binary | base64`.
        assert_eq!(
            turn_credential("secret", "1700000000:voki"),
            "EFgzT/QYvoXk5+kgSE+W94Pibkk="
        );
    }

    #[test]
    fn without_turn_only_stun_is_offered() {
        let config = Config {
            stun_urls: vec!["stun:stun.example.org:3478".into()],
            ..Config::default()
        };
        let ice = ice_config(&config, "voki", 1_700_000_000);
        assert_eq!(ice.ice_servers.len(), 1);
        assert!(ice.ice_servers[0].username.is_none());

        let config = Config {
            turn_urls: vec!["turn:turn.example.org:3478".into()],
            turn_secret: "secret".into(),
            turn_ttl_secs: 600,
            ..config
        };
        let ice = ice_config(&config, "call-1", 1_700_000_000);
        assert_eq!(ice.ice_servers[1].username.as_deref(), Some("1700000600:call-1"));
        assert_eq!(ice.ttl, 600);
    }
}
