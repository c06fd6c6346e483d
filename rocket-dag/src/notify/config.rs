//! Where notifications go, from `<home>/notifications.json`, `ROCKET_DAG_NOTIFY_*` and
//! `ROCKET_DAG_SMTP_*`.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::secret::redact_urls;
use super::*;

/// Which notifiers a DAG's runs use and which events they send. Read it with
/// [`NotifyConfig::load`]; turn it into [`Notifiers`] with [`Notifiers::from_config`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NotifyConfig {
    /// Log every event ([`LogNotifier`]).
    #[serde(default)]
    pub log: bool,
    /// Webhooks to POST every event to.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// Programs to run with every event on stdin.
    #[serde(default)]
    pub commands: Vec<CommandConfig>,
    /// An email per event, over SMTP.
    #[serde(default)]
    pub email: Option<EmailConfig>,
    /// The kinds to send; `None` sends every kind.
    #[serde(default)]
    pub events: Option<Vec<EventKind>>,
}

/// One webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// Where to POST (a secret: never shown whole).
    pub url: SecretUrl,
    /// Time limit of one request (default 10 s).
    #[serde(default = "default_webhook_timeout", with = "duration")]
    pub timeout: Duration,
    /// Requests after the first one fails with a connection error, a timeout, 5xx or 429
    /// (default 3, at most 10).
    #[serde(default = "default_webhook_retries")]
    pub retries: u32,
}

pub(super) fn default_webhook_timeout() -> Duration {
    DEFAULT_WEBHOOK_TIMEOUT
}

pub(super) fn default_webhook_retries() -> u32 {
    DEFAULT_WEBHOOK_RETRIES
}

impl WebhookConfig {
    /// A webhook with the default timeout and retries.
    pub fn new(url: &str) -> Result<WebhookConfig, ConfigError> {
        Ok(WebhookConfig {
            url: SecretUrl::parse(url)?,
            timeout: DEFAULT_WEBHOOK_TIMEOUT,
            retries: DEFAULT_WEBHOOK_RETRIES,
        })
    }
    /// Sets the time limit of one request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Sets the number of retries.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }
}

/// One command: a program and its arguments, run without a shell.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CommandConfig {
    /// The program (a path, or a name looked up in `PATH`).
    pub program: String,
    /// Its arguments (not shown in logs: they may hold an API key).
    #[serde(default)]
    pub args: Vec<String>,
    /// Killed if it runs longer (default 30 s).
    #[serde(default = "default_command_timeout", with = "duration")]
    pub timeout: Duration,
}

pub(super) fn default_command_timeout() -> Duration {
    DEFAULT_COMMAND_TIMEOUT
}

impl CommandConfig {
    /// A command with the default timeout.
    pub fn new<I, S>(program: impl Into<String>, args: I) -> CommandConfig
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CommandConfig {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            timeout: DEFAULT_COMMAND_TIMEOUT,
        }
    }
    /// Sets the time limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl fmt::Debug for CommandConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandConfig")
            .field("program", &self.program)
            .field("args", &format_args!("<{} hidden>", self.args.len()))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// How the email notifier protects its SMTP connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub enum SmtpSecurity {
    /// `starttls` (the default): a plain connection (port 587) upgraded with `STARTTLS`, which
    /// the server must offer: there is no fallback to plain text.
    #[default]
    #[serde(rename = "starttls")]
    StartTls,
    /// `tls`: TLS from the first byte ("implicit TLS", port 465).
    #[serde(rename = "tls")]
    Tls,
    /// `none`: no encryption (port 25); only to a loopback host (a local relay, a test server).
    #[serde(rename = "none")]
    None,
}

impl SmtpSecurity {
    /// The port used when none is given: 587, 465 or 25.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }

    /// The name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }
}

impl fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SmtpSecurity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(SmtpSecurity::StartTls),
            "tls" => Ok(SmtpSecurity::Tls),
            "none" => Ok(SmtpSecurity::None),
            _ => Err(format!(
                "unknown SMTP security `{}`: use `starttls`, `tls` or `none`",
                s.trim()
            )),
        }
    }
}

/// The email notifier: where to send (an SMTP server, its security) and who gets the mail.
/// The login comes from `ROCKET_DAG_SMTP_USERNAME` / `ROCKET_DAG_SMTP_PASSWORD` only, never
/// from the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EmailConfig {
    /// The SMTP server's host name or IP address.
    pub host: String,
    /// Its port (default: from `security`, 587, 465 or 25).
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none` (loopback hosts only).
    #[serde(default)]
    pub security: SmtpSecurity,
    /// The sender, `dags@example.com` or `rocket-dag <dags@example.com>`.
    pub from: String,
    /// The recipients: one address, or a list.
    #[serde(deserialize_with = "one_or_more")]
    pub to: Vec<String>,
    /// Time limit of one delivery attempt (connection, login, sending; default 10 s).
    #[serde(default = "default_email_timeout", with = "duration")]
    pub timeout: Duration,
    /// Attempts after the first one fails with a connection error, a timeout or a 4xx reply
    /// (default 3, at most 10). 5xx replies are not retried.
    #[serde(default = "default_webhook_retries")]
    pub retries: u32,
    /// The SMTP login (from the environment; the password is never shown).
    #[serde(skip)]
    pub credentials: Option<SmtpCredentials>,
}

pub(super) fn default_email_timeout() -> Duration {
    DEFAULT_EMAIL_TIMEOUT
}

fn one_or_more<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        More(Vec<String>),
    }
    match Raw::deserialize(d) {
        Ok(Raw::One(one)) => Ok(vec![one]),
        Ok(Raw::More(more)) => Ok(more),
        Err(_) => Err(serde::de::Error::custom(
            "`to` must be an email address or a list of them",
        )),
    }
}

/// A field of [`EmailConfig`] that is wrong, and why.
pub(super) struct EmailProblem {
    pub(super) field: &'static str,
    pub(super) message: String,
}

impl EmailConfig {
    /// An email notifier with the default security (`starttls`), port, timeout and retries,
    /// and no login.
    pub fn new<I, S>(host: impl Into<String>, from: impl Into<String>, to: I) -> EmailConfig
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        EmailConfig {
            host: host.into(),
            port: None,
            security: SmtpSecurity::default(),
            from: from.into(),
            to: to.into_iter().map(Into::into).collect(),
            timeout: DEFAULT_EMAIL_TIMEOUT,
            retries: DEFAULT_WEBHOOK_RETRIES,
            credentials: None,
        }
    }
    /// Sets the port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
    /// Sets the security.
    pub fn security(mut self, security: SmtpSecurity) -> Self {
        self.security = security;
        self
    }
    /// Sets the time limit of one attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Sets the number of retries.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }
    /// Sets the SMTP login.
    pub fn credentials(mut self, credentials: SmtpCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The port, given or implied by the security.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(self.security.default_port())
    }

    /// What is wrong with it, if anything: an empty or odd host, port 0, missing or odd
    /// addresses, `none` security to a host that is not the loopback.
    pub(super) fn check(&self) -> Result<(), EmailProblem> {
        let problem = |field, message: String| Err(EmailProblem { field, message });
        let host = self.host.trim();
        if host.is_empty() {
            return problem("host", "the SMTP host is empty".into());
        }
        if host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | '?' | '#'))
        {
            return problem(
                "host",
                format!("`{}` is not a host name", host.escape_debug()),
            );
        }
        if self.port == Some(0) {
            return problem("port", "the SMTP port cannot be 0".into());
        }
        if self.security == SmtpSecurity::None && !is_loopback(host) {
            return problem(
                "security",
                format!(
                    "security `none` (no encryption: the login and the mail in clear) is only \
                     allowed to a loopback host (localhost, 127.0.0.1, ::1), not `{host}`; \
                     use `starttls` or `tls`"
                ),
            );
        }
        if let Err(message) = check_address(&self.from) {
            return problem("from", format!("invalid sender: {message}"));
        }
        if self.to.is_empty() {
            return problem("to", "no recipient".into());
        }
        for to in &self.to {
            if let Err(message) = check_address(to) {
                return problem("to", format!("invalid recipient: {message}"));
            }
        }
        Ok(())
    }
}

/// `localhost`, or an IP address of the loopback (`127.0.0.0/8`, `::1`).
pub(super) fn is_loopback(host: &str) -> bool {
    let host = host.trim();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A first check of an address (the email notifier parses it fully): something with an `@`,
/// on one line.
fn check_address(address: &str) -> Result<(), String> {
    let a = address.trim();
    if a.is_empty() {
        Err("the address is empty".into())
    } else if a.chars().any(char::is_control) {
        Err(format!("`{}` has a control character", a.escape_debug()))
    } else if !a.contains('@') {
        Err(format!("`{a}` is not an email address"))
    } else {
        Ok(())
    }
}

/// `<home>/notifications.json`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    default: Section,
    #[serde(default)]
    dags: HashMap<String, Section>,
}

/// A section of the file: what it sets replaces what a broader one set.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Section {
    log: Option<bool>,
    webhooks: Option<Vec<WebhookConfig>>,
    commands: Option<Vec<CommandConfig>>,
    /// `Some(None)`: `"email": null`, no email for this DAG.
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<EmailConfig>>,
    events: Option<Vec<EventKind>>,
}

/// A field that is there, `null` or not.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl NotifyConfig {
    /// The configuration of DAG `dag_id`: `<home>/notifications.json` (its `default` section,
    /// then the DAG's own under `dags`), then the `ROCKET_DAG_NOTIFY_*` variables read through
    /// `env` (pass `|k| std::env::var(k).ok()` for the process environment). A missing file is
    /// an empty configuration.
    pub fn load(
        home: &Path,
        dag_id: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<NotifyConfig, ConfigError> {
        let path = home.join(CONFIG_FILE);
        let (mut config, email_off) = match std::fs::read_to_string(&path) {
            Ok(text) => NotifyConfig::from_file(&text, dag_id)
                .map_err(|message| ConfigError::Parse { path, message })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (NotifyConfig::default(), false),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        config.apply_env(env, email_off)?;
        Ok(config)
    }

    /// Reads the file's text for one DAG.
    #[cfg(test)]
    pub(super) fn from_json(text: &str, dag_id: &str) -> Result<NotifyConfig, String> {
        NotifyConfig::from_file(text, dag_id).map(|(config, _)| config)
    }

    /// Reads the file's text for one DAG, and whether a section turned email off
    /// (`"email": null`, which the `ROCKET_DAG_SMTP_*` variables other than the host respect).
    fn from_file(text: &str, dag_id: &str) -> Result<(NotifyConfig, bool), String> {
        let mut file: ConfigFile =
            serde_json::from_str(text).map_err(|e| redact_urls(&e.to_string()))?;
        let mut config = NotifyConfig::default();
        let mut email_off = false;
        let own = file.dags.remove(dag_id);
        for section in std::iter::once(file.default).chain(own) {
            if let Some(log) = section.log {
                config.log = log;
            }
            if let Some(w) = section.webhooks {
                config.webhooks = w;
            }
            if let Some(c) = section.commands {
                config.commands = c;
            }
            if let Some(e) = section.email {
                email_off = e.is_none();
                config.email = e;
            }
            if let Some(e) = section.events {
                config.events = Some(e);
            }
        }
        config.normalize_events();
        for c in &config.commands {
            if c.program.trim().is_empty() {
                return Err(ConfigError::EmptyCommand.to_string());
            }
        }
        if let Some(email) = &config.email
            && let Err(p) = email.check()
        {
            return Err(format!("email `{}`: {}", p.field, p.message));
        }
        Ok((config, email_off))
    }

    fn apply_env(
        &mut self,
        env: impl Fn(&str) -> Option<String>,
        email_off: bool,
    ) -> Result<(), ConfigError> {
        if let Some(url) = env(WEBHOOK_ENV) {
            self.webhooks = if url.trim().is_empty() {
                Vec::new()
            } else {
                let hook = WebhookConfig::new(&url).map_err(|e| ConfigError::Env {
                    var: WEBHOOK_ENV,
                    message: e.to_string(),
                })?;
                vec![hook]
            };
        }
        if let Some(line) = env(COMMAND_ENV) {
            let mut words = line.split_whitespace();
            self.commands = match words.next() {
                None => Vec::new(),
                Some(program) => vec![CommandConfig::new(program, words)],
            };
        }
        if let Some(list) = env(EVENTS_ENV) {
            let kinds: Vec<EventKind> = list
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(EventKind::from)
                .collect();
            self.events = (!kinds.is_empty()).then_some(kinds);
            self.normalize_events();
        }
        self.apply_smtp_env(&env, email_off)
    }

    /// `ROCKET_DAG_SMTP_*`: the host turns email on (or off, empty) for every DAG; the others
    /// change the settings the file or the host gave.
    fn apply_smtp_env(
        &mut self,
        env: impl Fn(&str) -> Option<String>,
        email_off: bool,
    ) -> Result<(), ConfigError> {
        let bad = |var: &'static str, message: String| ConfigError::Env { var, message };
        if let Some(host) = env(SMTP_HOST_ENV) {
            let host = host.trim();
            if host.is_empty() {
                self.email = None;
                return Ok(());
            }
            match &mut self.email {
                Some(email) => email.host = host.to_owned(),
                None => self.email = Some(EmailConfig::new(host, "", Vec::<String>::new())),
            }
        }
        let port = env(SMTP_PORT_ENV)
            .map(|p| match p.trim().parse::<u16>() {
                Ok(port) if port > 0 => Ok(port),
                _ => Err(bad(SMTP_PORT_ENV, "not a port number (1-65535)".into())),
            })
            .transpose()?;
        let security = env(SMTP_SECURITY_ENV)
            .map(|s| {
                s.parse::<SmtpSecurity>()
                    .map_err(|m| bad(SMTP_SECURITY_ENV, m))
            })
            .transpose()?;
        let from = env(SMTP_FROM_ENV);
        let to = env(SMTP_TO_ENV);
        let username = env(SMTP_USERNAME_ENV).filter(|u| !u.trim().is_empty());
        let password = env(SMTP_PASSWORD_ENV).filter(|p| !p.is_empty());
        let credentials = match (username, password) {
            (Some(u), Some(p)) => Some(SmtpCredentials::new(u.trim(), p)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(bad(
                    SMTP_PASSWORD_ENV,
                    format!("{SMTP_USERNAME_ENV} is set without a password"),
                ));
            }
            (None, Some(_)) => {
                return Err(bad(
                    SMTP_USERNAME_ENV,
                    format!("{SMTP_PASSWORD_ENV} is set without a user name"),
                ));
            }
        };
        let Some(email) = &mut self.email else {
            if email_off {
                return Ok(());
            }
            let set = [
                (SMTP_PORT_ENV, port.is_some()),
                (SMTP_SECURITY_ENV, security.is_some()),
                (SMTP_FROM_ENV, from.is_some()),
                (SMTP_TO_ENV, to.is_some()),
                (SMTP_USERNAME_ENV, credentials.is_some()),
            ];
            return match set.iter().find(|(_, is_set)| *is_set) {
                Some((var, _)) => Err(bad(
                    SMTP_HOST_ENV,
                    format!(
                        "{var} is set but there is no SMTP host: set {SMTP_HOST_ENV} or an \
                         `email` section in {CONFIG_FILE}"
                    ),
                )),
                None => Ok(()),
            };
        };
        if let Some(port) = port {
            email.port = Some(port);
        }
        if let Some(security) = security {
            email.security = security;
        }
        if let Some(from) = from {
            email.from = from.trim().to_owned();
        }
        if let Some(to) = to {
            email.to = to
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if credentials.is_some() {
            email.credentials = credentials;
        }
        email.check().map_err(|p| {
            let var = match p.field {
                "host" => SMTP_HOST_ENV,
                "port" => SMTP_PORT_ENV,
                "security" if env(SMTP_SECURITY_ENV).is_some() => SMTP_SECURITY_ENV,
                "security" => SMTP_HOST_ENV,
                "from" => SMTP_FROM_ENV,
                _ => SMTP_TO_ENV,
            };
            bad(var, p.message)
        })
    }

    /// `"*"` in the filter means every kind.
    fn normalize_events(&mut self) {
        if let Some(kinds) = &self.events
            && kinds.iter().any(|k| k.as_str() == "*")
        {
            self.events = None;
        }
    }

    /// `true` when nothing would be notified.
    pub fn is_empty(&self) -> bool {
        !self.log && self.webhooks.is_empty() && self.commands.is_empty() && self.email.is_none()
    }
}

/// Durations in the file: `"500ms"`, `"10s"`, `"1h30m"`, or a number of seconds.
mod duration {
    use std::time::Duration;

    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(f64),
        Text(String),
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        let d = match Raw::deserialize(d)? {
            Raw::Secs(s) if s.is_finite() && s > 0.0 && s < 1e9 => Duration::from_secs_f64(s),
            Raw::Secs(s) => {
                return Err(serde::de::Error::custom(format!(
                    "invalid duration {s}: give a positive number of seconds"
                )));
            }
            Raw::Text(t) => parse(&t).map_err(serde::de::Error::custom)?,
        };
        Ok(d)
    }

    /// The duration notation of DAG options ([`crate::duration`]), more than zero.
    pub(super) fn parse(s: &str) -> Result<Duration, String> {
        match crate::duration::parse(s.trim()) {
            Ok(d) if d.is_zero() => Err(format!("invalid duration `{s}`: it must be more than 0")),
            Ok(d) => Ok(d),
            Err(e) => Err(e.to_string()),
        }
    }
}
