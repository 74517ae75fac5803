//! Rate limits (SPEC §3): in-memory GCRA limiters (the `governor` crate) keyed by client
//! IP, or by client IP and e-mail for the login-like endpoints so that staff behind one
//! NAT address do not block each other. Every request counts, successful or not. The
//! HTTP side (who the client is, the widget's middleware) is `crate::http::rate_limit`.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::error::ApiError;

pub struct RateLimits {
    auth_ip_email: Option<DefaultKeyedRateLimiter<(IpAddr, String)>>,
    auth_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    refresh_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    widget_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Chat messages on the socket per (tenant, call, sender).
    chat: Option<DefaultKeyedRateLimiter<(String, String, String)>>,
    booking_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

/// Chat messages one participant may send on one call's socket topic per minute.
pub const CHAT_PER_MINUTE: u64 = 30;

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u64) -> Option<DefaultKeyedRateLimiter<K>> {
    let per_minute = NonZeroU32::new(u32::try_from(per_minute).unwrap_or(u32::MAX))?;
    Some(RateLimiter::keyed(Quota::per_minute(per_minute)))
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &Option<DefaultKeyedRateLimiter<K>>,
    key: &K,
) -> Result<(), ApiError> {
    let Some(limiter) = limiter else { return Ok(()) };
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        }
    })
}

impl RateLimits {
    pub fn new(config: &Config) -> RateLimits {
        RateLimits {
            auth_ip_email: limiter(config.rate_limit_auth_per_minute),
            auth_ip: limiter(config.rate_limit_auth_ip_per_minute),
            refresh_ip: limiter(config.rate_limit_refresh_per_minute),
            widget_ip: limiter(config.rate_limit_widget_per_minute),
            chat: limiter(CHAT_PER_MINUTE),
            booking_ip: limiter(config.rate_limit_booking_per_minute),
        }
    }

    /// Login, MFA verification, password reset: per IP + e-mail, once the body is read.
    /// The per-IP limit across them is counted before the body is read, by
    /// [`auth_limit`], so a malformed body or a junk token counts too.
    pub fn auth(&self, ip: IpAddr, email: &str) -> Result<(), ApiError> {
        check(&self.auth_ip_email, &(ip, email.trim().to_lowercase()))
    }

    /// `/refresh`: counted by [`auth_limit`] before the body is read; nothing more to
    /// count once it is.
    pub fn refresh(&self, _ip: IpAddr) -> Result<(), ApiError> {
        Ok(())
    }

    /// The limit a request to `path` counts against before anything else is done with it.
    pub(crate) fn before_reading(&self, path: &str, ip: IpAddr) -> Result<(), ApiError> {
        match path {
            "/api/auth/login" | "/api/auth/mfa/verify" | "/api/auth/forgot-password" | "/api/auth/reset-password" => {
                check(&self.auth_ip, &ip)
            }
            "/api/auth/refresh" => check(&self.refresh_ip, &ip),
            _ if path.starts_with("/api/v1/call/") => check(&self.widget_ip, &ip),
            _ if path.starts_with("/api/v1/book/") || path.starts_with("/api/v1/manage/") => {
                check(&self.booking_ip, &ip)
            }
            _ => Ok(()),
        }
    }

    /// A chat message by `sender` on `call_id`'s socket topic.
    pub fn chat(&self, tenant: &str, call_id: &str, sender: &str) -> Result<(), ApiError> {
        check(
            &self.chat,
            &(tenant.to_string(), call_id.to_string(), sender.to_string()),
        )
    }

    /// The booking page and the manage link share one bucket (SPEC §7.8).
    pub fn booking(&self, ip: IpAddr) -> Result<(), ApiError> {
        check(&self.booking_ip, &ip)
    }

    /// Forgets keys whose limits have fully recovered, so memory stays bounded.
    pub fn forget_idle_keys(&self) {
        for limiter in [&self.auth_ip, &self.refresh_ip, &self.widget_ip, &self.booking_ip]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.auth_ip_email {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.chat {
            limiter.retain_recent();
        }
    }
}
