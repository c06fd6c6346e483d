//! The webhook notifier: a Slack-compatible JSON POST, with timeouts and retries.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;

use super::secret::{excerpt, redact_urls};
use super::*;

/// POSTs `{"text": event.text(), "event": event}` to a URL (Slack-compatible), with a timeout
/// per request and retries with backoff on connection errors, timeouts, 5xx and 429.
pub struct WebhookNotifier {
    url: SecretUrl,
    timeout: Duration,
    retries: u32,
    first_backoff: Duration,
    client: reqwest::Client,
    /// Set once a delivery failed for good: the next deliveries get a single request until
    /// one succeeds, so a webhook that is down does not hold every event for its whole
    /// retry budget.
    degraded: AtomicBool,
}

impl WebhookNotifier {
    /// A webhook notifier for `config`.
    pub fn new(config: &WebhookConfig) -> Result<WebhookNotifier, ConfigError> {
        let timeout = if config.timeout.is_zero() {
            DEFAULT_WEBHOOK_TIMEOUT
        } else {
            config.timeout
        };
        let client = crate::http::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirect would turn the POST into a GET elsewhere; a webhook answers itself.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::Client(e.without_url().to_string()))?;
        Ok(WebhookNotifier {
            url: config.url.clone(),
            timeout,
            retries: config.retries.min(MAX_WEBHOOK_RETRIES),
            first_backoff: FIRST_BACKOFF,
            client,
            degraded: AtomicBool::new(false),
        })
    }

    /// Where it posts (shown without its secret).
    pub fn url(&self) -> &SecretUrl {
        &self.url
    }

    #[cfg(test)]
    pub(super) fn with_backoff(mut self, first: Duration) -> Self {
        self.first_backoff = first;
        self
    }

    fn backoff(&self, retry: u32) -> Duration {
        crate::retry::Backoff::exponential(self.first_backoff)
            .max(MAX_BACKOFF)
            .delay(retry)
    }

    async fn deliver(&self, event: &Event) -> Result<(), NotifyError> {
        let body = serde_json::json!({ "text": slack_escape(&event.text()), "event": event });
        let tries = if self.degraded.load(Ordering::Relaxed) {
            1
        } else {
            self.retries + 1
        };
        let mut cause = String::new();
        for attempt in 1..=tries {
            if attempt > 1 {
                let delay = self.backoff(attempt - 1);
                tracing::debug!(
                    target: "rocket_dag::notify",
                    "webhook {}: {cause}; retrying in {}",
                    self.url,
                    format_duration(delay)
                );
                tokio::time::sleep(delay).await;
            }
            let retryable = match self
                .client
                .post(self.url.expose().clone())
                .json(&body)
                .send()
                .await
            {
                Ok(resp) if resp.status().is_success() => {
                    self.degraded.store(false, Ordering::Relaxed);
                    return Ok(());
                }
                Ok(mut resp) => {
                    let status = resp.status();
                    // Only the start of the answer is quoted: no more is read.
                    let mut bytes = Vec::new();
                    while bytes.len() < 4096 {
                        match resp.chunk().await {
                            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                            _ => break,
                        }
                    }
                    bytes.truncate(4096);
                    let answer = String::from_utf8_lossy(&bytes);
                    cause = format!("HTTP {status}");
                    if !answer.trim().is_empty() {
                        cause.push_str(&format!(": {}", redact_urls(&excerpt(&answer))));
                    }
                    status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                }
                Err(e) => {
                    let builder = e.is_builder();
                    cause = describe(e, self.timeout);
                    !builder
                }
            };
            if !retryable {
                return Err(NotifyError::Webhook {
                    url: self.url.clone(),
                    attempts: attempt,
                    cause,
                });
            }
        }
        self.degraded.store(true, Ordering::Relaxed);
        Err(NotifyError::Webhook {
            url: self.url.clone(),
            attempts: tries,
            cause,
        })
    }
}

/// Slack reads `<…>` in `text` as a link or a mention (`<!channel>`): a cause quoting an HTML
/// page or a hostile answer must not ping anyone. Slack asks for these three escapes only.
pub(super) fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A request error without its URL (reqwest puts the whole URL in its message), causes
/// included.
pub(super) fn describe(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}", format_duration(timeout));
    }
    let e = e.without_url();
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    redact_urls(&parts.join(": "))
}

impl fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Notifier for WebhookNotifier {
    fn name(&self) -> String {
        format!("webhook {}", self.url)
    }

    fn notify<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.deliver(event))
    }

    fn max_duration(&self) -> Duration {
        let tries = self.retries + 1;
        let backoff: Duration = (1..tries).map(|r| self.backoff(r)).sum();
        self.timeout * tries + backoff
    }
}
