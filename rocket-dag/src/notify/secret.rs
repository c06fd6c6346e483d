//! Secrets in notification targets: a webhook URL shown only as `scheme://host/…`, an SMTP
//! password never shown.

use std::fmt;

use serde::Deserialize;

use super::*;

/// A webhook URL, whose path and query are a secret: `Display` and `Debug` show only
/// `scheme://host[:port]/…`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(reqwest::Url);

impl SecretUrl {
    /// Parses an absolute `http` or `https` URL. The error never quotes it.
    pub fn parse(url: &str) -> Result<SecretUrl, ConfigError> {
        let parsed =
            reqwest::Url::parse(url.trim()).map_err(|e| ConfigError::InvalidUrl(e.to_string()))?;
        match parsed.scheme() {
            "http" | "https" if parsed.host_str().is_some() => Ok(SecretUrl(parsed)),
            "http" | "https" => Err(ConfigError::InvalidUrl("it has no host".into())),
            other => Err(ConfigError::InvalidUrl(format!(
                "the scheme must be http or https, not `{other}`"
            ))),
        }
    }

    /// The whole URL, secret included: for making the request, never for a message.
    pub fn expose(&self) -> &reqwest::Url {
        &self.0
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No user info, path or query: only where it goes.
        write!(
            f,
            "{}://{}",
            self.0.scheme(),
            self.0.host_str().unwrap_or("?")
        )?;
        if let Some(port) = self.0.port() {
            write!(f, ":{port}")?;
        }
        f.write_str("/…")
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({self})")
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SecretUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The SMTP login of the email notifier, read from `ROCKET_DAG_SMTP_USERNAME` and
/// `ROCKET_DAG_SMTP_PASSWORD`. `Debug` shows the user name only; the password is never in a
/// message, a log line or `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    username: String,
    password: String,
}

impl SmtpCredentials {
    /// A user name and its password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> SmtpCredentials {
        SmtpCredentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password: for the SMTP `AUTH` command, never for a message.
    pub fn expose_password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("username", &self.username)
            .field("password", &format_args!("<hidden>"))
            .finish()
    }
}

/// Replaces every `scheme://…` in `text` with its redacted form: messages from libraries
/// (serde quoting a misplaced value, an HTTP error) may carry a webhook URL.
pub(super) fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(sep) = rest.find("://") {
        // The scheme: the ASCII letters, digits, `+`, `-` and `.` just before `://`.
        let start = rest[..sep]
            .char_indices()
            .rev()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let end = rest[sep + 3..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>' | ')'))
            .map_or(rest.len(), |i| sep + 3 + i);
        out.push_str(&rest[..start]);
        match reqwest::Url::parse(&rest[start..end]) {
            Ok(url) if url.host_str().is_some() => out.push_str(&SecretUrl(url).to_string()),
            _ => {
                out.push_str(&rest[start..sep]);
                out.push_str("://…");
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

pub(super) fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(EXCERPT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
