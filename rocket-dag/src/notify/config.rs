//! Where notifications go, from `<home>/notifications.json` and `ROCKET_DAG_NOTIFY_*`.

use std::collections::HashMap;
use std::fmt;
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
    events: Option<Vec<EventKind>>,
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
        let mut config = match std::fs::read_to_string(&path) {
            Ok(text) => NotifyConfig::from_json(&text, dag_id)
                .map_err(|message| ConfigError::Parse { path, message })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => NotifyConfig::default(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        config.apply_env(env)?;
        Ok(config)
    }

    /// Reads the file's text for one DAG.
    pub(super) fn from_json(text: &str, dag_id: &str) -> Result<NotifyConfig, String> {
        let mut file: ConfigFile =
            serde_json::from_str(text).map_err(|e| redact_urls(&e.to_string()))?;
        let mut config = NotifyConfig::default();
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
        Ok(config)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
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
        Ok(())
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
        !self.log && self.webhooks.is_empty() && self.commands.is_empty()
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
