//! SMTP through lettre (rustls). `smtp_url` is lettre's URL form with one difference the
//! SPEC makes: `smtp://` without `tls=` requires STARTTLS (lettre would send in clear),
//! `tls=none` is the plain connection of a LAN relay.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

/// Connection and command timeout of one SMTP exchange.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// Why `smtp_url` cannot be used (`Ok` for an empty one: no SMTP).
pub fn check_url(url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Ok(());
    }
    let url = lettre_url(url)?;
    AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
        .map(|_| ())
        .map_err(|e| format!("not a usable SMTP URL: {e}"))
}

/// The URL lettre should read for `url`.
fn lettre_url(url: &str) -> Result<String, String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    let tls = pairs.iter().find_map(|p| p.strip_prefix("tls="));
    let scheme = base.split_once("://").map(|(scheme, _)| scheme);
    match (scheme, tls) {
        (Some("smtp"), None) => pairs.push("tls=required"),
        (Some("smtp"), Some("none")) => pairs.retain(|p| !p.starts_with("tls=")),
        (Some("smtp"), Some("required" | "opportunistic")) | (Some("smtps"), None) => {}
        (Some("smtp" | "smtps"), Some(other)) => {
            return Err(format!("tls={other} must be required, opportunistic or none"));
        }
        _ => return Err("must start with smtp:// or smtps://".into()),
    }
    Ok(if pairs.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", pairs.join("&"))
    })
}

/// Why a message was not accepted: a temporary failure (connection, TLS, timeout, 4xx) is
/// worth retrying, a permanent one (5xx, an unusable address) is not.
#[derive(Debug, Clone)]
pub enum Failure {
    Temporary(String),
    Permanent(String),
}

impl Failure {
    pub fn reply(&self) -> &str {
        match self {
            Failure::Temporary(reply) | Failure::Permanent(reply) => reply,
        }
    }
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: String,
    /// The display name of the sender: the company's name.
    pub sender_name: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `invite.ics` and its iTIP method (`REQUEST`, `CANCEL`).
    pub ics: Option<(String, String)>,
}

/// The configured SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `None` when `smtp_url` is empty. The configuration is validated at load time.
    pub fn from_config(config: &Config) -> Result<Option<Mailer>, String> {
        if config.smtp_url.is_empty() {
            return Ok(None);
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url(&config.smtp_url)?)
            .map_err(|e| format!("invalid smtp_url: {e}"))?
            .timeout(Some(TIMEOUT))
            .build();
        let from = config
            .smtp_from
            .parse()
            .map_err(|e| format!("invalid smtp_from: {e}"))?;
        Ok(Some(Mailer { transport, from }))
    }

    /// The sender with `name` as its display name (or `smtp_from`'s when empty).
    fn sender(&self, name: &str) -> Mailbox {
        if name.trim().is_empty() {
            self.from.clone()
        } else {
            Mailbox::new(Some(name.to_string()), self.from.email.clone())
        }
    }

    pub fn compose(&self, mail: &Outgoing) -> Result<Message, Failure> {
        let bad_address =
            |what: &str, e: lettre::address::AddressError| Failure::Permanent(format!("invalid {what}: {e}"));
        let mut builder = Message::builder()
            .from(self.sender(&mail.sender_name))
            .to(mail.to.parse().map_err(|e| bad_address("recipient", e))?)
            .subject(mail.subject.clone());
        if let Some(reply_to) = &mail.reply_to
            && let Ok(mailbox) = reply_to.parse::<Mailbox>()
        {
            builder = builder.reply_to(mailbox);
        }
        let alternative = MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone());
        let message = match &mail.ics {
            None => builder.multipart(alternative),
            Some((ics, method)) => {
                let content_type = ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                    .map_err(|e| Failure::Permanent(format!("invalid calendar part: {e}")))?;
                let attachment: SinglePart = Attachment::new("invite.ics".into()).body(ics.clone(), content_type);
                builder.multipart(MultiPart::mixed().multipart(alternative).singlepart(attachment))
            }
        };
        message.map_err(|e| Failure::Permanent(format!("cannot build the message: {e}")))
    }

    /// Sends `mail` once; `Ok` means the server accepted it.
    pub async fn send(&self, mail: &Outgoing) -> Result<(), Failure> {
        let message = self.compose(mail)?;
        match tokio::time::timeout(TIMEOUT * 4, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) if err.is_permanent() => Err(Failure::Permanent(describe(&err))),
            Ok(Err(err)) => Err(Failure::Temporary(describe(&err))),
            Err(_) => Err(Failure::Temporary("timed out".into())),
        }
    }

    /// Sends a test message from `smtp_from` to `to` (CLI and `POST /emails/test`).
    pub async fn send_test(&self, to: &str, company: &str) -> Result<(), Failure> {
        let rendered = super::templates::smtp_test(company);
        self.send(&Outgoing {
            to: to.into(),
            sender_name: self.from.name.clone().unwrap_or_default(),
            reply_to: None,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            ics: None,
        })
        .await
    }
}

/// The server's reply (`550 5.1.1 no such user`) or what went wrong before one came.
fn describe(err: &lettre::transport::smtp::Error) -> String {
    crate::error::chain(err)
}

#[cfg(test)]
mod tests {
    use super::lettre_url;

    #[test]
    fn smtp_without_tls_requires_starttls_and_none_means_plain() {
        assert_eq!(
            lettre_url("smtp://u:p@mail.example:587").unwrap(),
            "smtp://u:p@mail.example:587?tls=required"
        );
        assert_eq!(
            lettre_url("smtp://relay.lan:25?tls=none").unwrap(),
            "smtp://relay.lan:25"
        );
        assert_eq!(
            lettre_url("smtp://relay.lan:25?tls=opportunistic").unwrap(),
            "smtp://relay.lan:25?tls=opportunistic"
        );
        assert_eq!(
            lettre_url("smtps://u:p@mail.example").unwrap(),
            "smtps://u:p@mail.example"
        );
        assert!(lettre_url("http://mail.example").is_err());
        assert!(lettre_url("smtp://mail.example?tls=sometimes").is_err());
        super::check_url("smtp://relay.lan:25?tls=none").unwrap();
    }
}
