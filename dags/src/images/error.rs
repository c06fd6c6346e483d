//! Why one image was not fetched ([`FetchError`]): classified for records and logs, and
//! whether trying again may help.

use std::error::Error as _;
use std::time::Duration;

use super::{ImageFormat, NameError};

/// Why one image was not downloaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No file name could be derived from the URL.
    #[error(transparent)]
    InvalidUrl(#[from] NameError),
    /// The connection could not be made or was cut (refused, reset, DNS failure).
    #[error("{message}")]
    Connect {
        /// A short description, e.g. `connection refused`.
        message: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The host name did not resolve.
    #[error("{message}")]
    Dns {
        /// A short description.
        message: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The TLS handshake failed (certificate, protocol).
    #[error("{message}")]
    Tls {
        /// A short description.
        message: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// HTTP 429: the server asks to come back later.
    #[error("HTTP status 429 Too Many Requests{}", .retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The body starts like an image but its header does not decode.
    #[error("not a valid {format:?} image: {reason}")]
    Corrupt {
        /// The format its magic bytes claim.
        format: ImageFormat,
        /// What the decoder said.
        reason: String,
    },
    /// The download took too long.
    #[error("timed out{}", .after.map(|d| format!(" after {d:?}")).unwrap_or_default())]
    Timeout {
        /// The limit that was hit, when known (`None` for a timeout set on the client).
        after: Option<Duration>,
    },
    /// The server answered with a status other than 2xx.
    #[error("HTTP status {}", status_text(*.0))]
    Status(u16),
    /// The body does not start like a PNG, JPEG, GIF or WebP image.
    #[error("not an image (content-type {})", .content_type.as_deref().unwrap_or("missing"))]
    NotAnImage {
        /// The `Content-Type` the server claimed.
        content_type: Option<String>,
    },
    /// The image is larger than [`FetchOptions::max_bytes`](super::FetchOptions::max_bytes).
    #[error("larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The body ended before the announced `Content-Length`.
    #[error("truncated body: received {received} of {expected} bytes")]
    Truncated {
        /// The announced length.
        expected: u64,
        /// The bytes received.
        received: u64,
    },
    /// Creating, writing or renaming the file failed.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// Any other HTTP transport error.
    #[error("transport error: {}", root_cause(.0))]
    Http(#[source] reqwest::Error),
}

impl FetchError {
    /// A stable, machine-readable name of the cause: `invalid_url`, `dns`, `connect`, `tls`,
    /// `timeout`, `http_429`, `http_4xx`, `http_5xx`, `not_an_image`, `too_large`, `truncated`,
    /// `io` or `http`.
    pub fn class(&self) -> &'static str {
        match self {
            Self::InvalidUrl(_) => "invalid_url",
            Self::Dns { .. } => "dns",
            Self::Connect { .. } => "connect",
            Self::Tls { .. } => "tls",
            Self::Timeout { .. } => "timeout",
            Self::RateLimited { .. } | Self::Status(429) => "http_429",
            Self::Corrupt { .. } => "not_an_image",
            Self::Status(400..=499) => "http_4xx",
            Self::Status(500..=599) => "http_5xx",
            Self::Status(_) | Self::Http(_) => "http",
            Self::NotAnImage { .. } => "not_an_image",
            Self::TooLarge { .. } => "too_large",
            Self::Truncated { .. } => "truncated",
            Self::Io(_) => "io",
        }
    }

    /// Whether trying again may work: connection problems, timeouts, 5xx and 429 — not a
    /// refusal (other 4xx), a bad body, or a host name the DNS says does not exist.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Dns { source, .. } => rocket_dag::http::permanent_failure(source).is_none(),
            Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::RateLimited { .. }
            | Self::Status(500..=599 | 429)
            | Self::Truncated { .. } => true,
            // A redirect loop stays a loop.
            Self::Http(e) => !e.is_redirect(),
            _ => false,
        }
    }

    pub(super) fn from_reqwest(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            return Self::Timeout { after: None };
        }
        let root = root_cause(&err);
        if err.is_connect() {
            let lower = root.to_ascii_lowercase();
            if lower.contains("dns")
                || lower.contains("failed to lookup")
                || lower.contains("name or service not known")
            {
                return Self::Dns {
                    message: format!("DNS lookup failed: {root}"),
                    source: err,
                };
            }
            if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
            {
                return Self::Tls {
                    message: format!("TLS failed: {root}"),
                    source: err,
                };
            }
        }
        let io_kind = io_error_kind(&err);
        let message = if err.is_dns() {
            Some(format!("DNS lookup failed: {}", root_cause(&err)))
        } else {
            use std::io::ErrorKind::{
                BrokenPipe, ConnectionAborted, ConnectionRefused, ConnectionReset,
            };
            match io_kind {
                Some(ConnectionRefused) => Some("connection refused".to_owned()),
                Some(ConnectionReset) => Some("connection reset by peer".to_owned()),
                Some(ConnectionAborted) => Some("connection aborted".to_owned()),
                Some(BrokenPipe) => Some("connection closed (broken pipe)".to_owned()),
                _ if err.is_connect() => Some(format!("cannot connect: {}", root_cause(&err))),
                _ => None,
            }
        };
        match message {
            Some(message) => Self::Connect {
                message,
                source: err,
            },
            None => Self::Http(err),
        }
    }
}

fn status_text(code: u16) -> String {
    match reqwest::StatusCode::from_u16(code) {
        Ok(status) => status.to_string(),
        Err(_) => code.to_string(),
    }
}

/// The innermost error of a chain: for reqwest that is the one that says what happened.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

fn io_error_kind(err: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut source = err.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}
