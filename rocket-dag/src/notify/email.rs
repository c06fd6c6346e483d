//! The email notifier: one plain-text email per event over SMTP (lettre, rustls with ring),
//! with a timeout per attempt and retries on transient failures.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Mailboxes};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::delivery::{Attempt, Delivery, Undelivered};
use super::secret::{excerpt, redact_urls};
use super::*;

/// The longest subject, in characters (the rest is cut, with `…`).
const MAX_SUBJECT: usize = 160;

/// Sends one plain-text email per event: the subject `[rocket-dag] <kind>: <dag>/<task>`, the
/// body the event's text then its JSON. Connection errors, timeouts and 4xx replies are
/// retried with backoff; 5xx replies, TLS failures and a server without the required
/// `STARTTLS` are not.
pub struct EmailNotifier {
    /// `host:port`, for messages.
    server: String,
    security: SmtpSecurity,
    from: Mailbox,
    to: Mailboxes,
    /// Whether a login is configured (the login itself lives in the transport only).
    login: Option<String>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    delivery: Delivery,
}

impl EmailNotifier {
    /// An email notifier for `config`: checks the settings (addresses, `none` security only to
    /// a loopback host) and prepares the SMTP transport; connects only to deliver.
    pub fn new(config: &EmailConfig) -> Result<EmailNotifier, ConfigError> {
        config
            .check()
            .map_err(|p| ConfigError::Email(format!("`{}`: {}", p.field, p.message)))?;
        let host = config.host.trim().to_owned();
        let port = config.effective_port();
        let timeout = if config.timeout.is_zero() {
            DEFAULT_EMAIL_TIMEOUT
        } else {
            config.timeout
        };
        let from: Mailbox = config.from.trim().parse().map_err(|e| {
            ConfigError::Email(format!("invalid sender `{}`: {e}", config.from.trim()))
        })?;
        let mut to = Mailboxes::new();
        for t in &config.to {
            let mailbox: Mailbox = t.trim().parse().map_err(|e| {
                ConfigError::Email(format!("invalid recipient `{}`: {e}", t.trim()))
            })?;
            to.push(mailbox);
        }

        // As for reqwest: ring is the process's rustls provider (Err: one already is).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = || {
            // An IP address is a valid name too (`[::1]` without its brackets).
            let name = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            TlsParameters::new(name)
                .map_err(|e| ConfigError::Email(format!("TLS for `{host}`: {e}")))
        };
        let tls = match config.security {
            SmtpSecurity::StartTls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            SmtpSecurity::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(port)
            .tls(tls)
            .timeout(Some(timeout))
            .hello_name(hello_name());
        if let Some(c) = &config.credentials {
            builder = builder
                .credentials(Credentials::new(
                    c.username().to_owned(),
                    c.expose_password().to_owned(),
                ))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        let server = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(EmailNotifier {
            server,
            security: config.security,
            from,
            to,
            login: config.credentials.as_ref().map(|c| c.username().to_owned()),
            transport: builder.build(),
            delivery: Delivery::new(timeout, config.retries),
        })
    }

    /// The SMTP server, `host:port`.
    pub fn server(&self) -> &str {
        &self.server
    }

    #[cfg(test)]
    pub(super) fn with_backoff(mut self, first: Duration) -> Self {
        self.delivery = self.delivery.with_backoff(first);
        self
    }

    fn message(&self, event: &Event) -> Result<Message, NotifyError> {
        let json = serde_json::to_string_pretty(event).unwrap_or_else(|e| e.to_string());
        let body = format!("{}\n\n-- \nThe event:\n{json}\n", event.text());
        let mut builder = Message::builder()
            .message_id(Some(self.message_id()))
            .from(self.from.clone())
            .subject(subject(event))
            .header(ContentType::TEXT_PLAIN);
        for to in self.to.iter() {
            builder = builder.to(to.clone());
        }
        builder.body(body).map_err(|e| NotifyError::Email {
            server: self.server.clone(),
            attempts: 0,
            cause: format!("cannot build the email: {e}"),
        })
    }

    /// `<rocket-dag.<time>.<pid>.<n>@<the sender's domain>>`: unique without a random source
    /// (lettre's own would end in `@localhost`).
    fn message_id(&self) -> String {
        static SENT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        format!(
            "<rocket-dag.{nanos}.{}.{}@{}>",
            std::process::id(),
            SENT.fetch_add(1, Ordering::Relaxed),
            self.from.email.domain()
        )
    }

    async fn deliver(&self, event: &Event) -> Result<(), NotifyError> {
        let message = self.message(event)?;
        let channel = format!("email via {}", self.server);
        let timeout = self.delivery.timeout();
        self.delivery
            .run(&channel, || {
                let message = message.clone();
                async move {
                    match self.transport.send(message).await {
                        Ok(_) => Attempt::Sent,
                        Err(e) => match describe(&e, self.security, timeout) {
                            (cause, true) => Attempt::Retry(cause),
                            (cause, false) => Attempt::Fail(cause),
                        },
                    }
                }
            })
            .await
            .map_err(|Undelivered { attempts, cause }| NotifyError::Email {
                server: self.server.clone(),
                attempts,
                cause,
            })
    }
}

/// `[rocket-dag] <kind>: <dag>/<task>` (`(<state>)` for `run_finished`), on one line: control
/// characters (CR and LF above all) and Unicode line separators become spaces, so nothing in
/// a DAG id, task id or kind can start a header of its own. At most [`MAX_SUBJECT`] characters.
pub(super) fn subject(event: &Event) -> String {
    let mut s = format!("[rocket-dag] {}: {}", event.kind, event.dag_id);
    if let Some(task) = event.task_label() {
        s.push('/');
        s.push_str(&task);
    }
    if event.kind == EventKind::RunFinished
        && let Some(state) = event.data.get("state").and_then(Value::as_str)
    {
        s.push_str(&format!(" ({state})"));
    }
    let mut one_line: String = s
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    if let Some((cut, _)) = one_line.char_indices().nth(MAX_SUBJECT) {
        one_line.truncate(cut);
        one_line.push('…');
    }
    one_line
}

/// The failure in a sentence, and whether another attempt may help: connection errors,
/// timeouts and 4xx replies may; 5xx replies, TLS errors and a server without `STARTTLS` do
/// not. lettre's messages quote the server's reply, never the login.
fn describe(
    e: &lettre::transport::smtp::Error,
    security: SmtpSecurity,
    timeout: Duration,
) -> (String, bool) {
    if e.is_timeout() {
        return (
            format!("no answer within {}", format_duration(timeout)),
            true,
        );
    }
    let text = redact_urls(&excerpt(&e.to_string()));
    if e.is_client() && text.contains("STARTTLS") && security == SmtpSecurity::StartTls {
        return (
            "the server does not offer STARTTLS, which security `starttls` requires (no \
             fallback to plain text; for implicit TLS on port 465 use `tls`)"
                .into(),
            false,
        );
    }
    let retryable = if e.is_transient() {
        true
    } else if e.is_permanent()
        || e.is_client()
        || e.is_tls()
        || e.is_response()
        || e.is_transport_shutdown()
    {
        false
    } else {
        // Connection refused or reset, a name that does not resolve yet, a broken pipe.
        true
    };
    (text, retryable)
}

/// The name `EHLO` gives: this machine's host name when it is a plain DNS name, else
/// lettre's `localhost` literal.
fn hello_name() -> ClientId {
    match nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
    {
        Some(h)
            if !h.is_empty()
                && h.len() <= 253
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.')) =>
        {
            ClientId::Domain(h)
        }
        _ => ClientId::default(),
    }
}

impl fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("server", &self.server)
            .field("security", &self.security)
            .field("from", &self.from.to_string())
            .field("to", &self.to.to_string())
            .field("login", &self.login)
            .field("timeout", &self.delivery.timeout())
            .field("retries", &self.delivery.retries())
            .finish_non_exhaustive()
    }
}

impl Notifier for EmailNotifier {
    fn name(&self) -> String {
        format!("email via {}", self.server)
    }

    fn notify<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.deliver(event))
    }

    fn max_duration(&self) -> Duration {
        self.delivery.max_duration()
    }
}
