//! The webhook notifier: a Slack-compatible JSON POST, with timeouts and retries.

use std::fmt;
use std::time::Duration;

use futures::future::BoxFuture;

use super::delivery::{Attempt, Delivery, Undelivered};
use super::secret::{excerpt, redact_urls};
use super::*;

/// POSTs `{"text": event.text(), "event": event}` to a URL (Slack-compatible), with a timeout
/// per request and retries with backoff on connection errors, timeouts, 5xx and 429.
pub struct WebhookNotifier {
    url: SecretUrl,
    client: reqwest::Client,
    delivery: Delivery,
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
            client,
            delivery: Delivery::new(timeout, config.retries),
        })
    }

    /// Where it posts (shown without its secret).
    pub fn url(&self) -> &SecretUrl {
        &self.url
    }

    #[cfg(test)]
    pub(super) fn with_backoff(mut self, first: Duration) -> Self {
        self.delivery = self.delivery.with_backoff(first);
        self
    }

    async fn deliver(&self, event: &Event) -> Result<(), NotifyError> {
        let body = serde_json::json!({ "text": slack_escape(&event.text()), "event": event });
        let channel = format!("webhook {}", self.url);
        self.delivery
            .run(&channel, || self.post(&body))
            .await
            .map_err(|Undelivered { attempts, cause }| NotifyError::Webhook {
                url: self.url.clone(),
                attempts,
                cause,
            })
    }

    /// One POST: 2xx is delivered; 5xx, 429 and errors on the way may heal; other answers
    /// would be the same again.
    async fn post(&self, body: &serde_json::Value) -> Attempt {
        let sent = self
            .client
            .post(self.url.expose().clone())
            .json(body)
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => Attempt::Sent,
            Ok(resp) => {
                let status = resp.status();
                // Only the start of the answer is quoted: no more is read.
                let bytes = crate::http::read_prefix(resp, 4096).await;
                let answer = String::from_utf8_lossy(&bytes);
                let mut cause = format!("HTTP {status}");
                if !answer.trim().is_empty() {
                    cause.push_str(&format!(": {}", redact_urls(&excerpt(&answer))));
                }
                if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    Attempt::Retry(cause)
                } else {
                    Attempt::Fail(cause)
                }
            }
            Err(e) if e.is_builder() => Attempt::Fail(describe(e, self.delivery.timeout())),
            Err(e) => Attempt::Retry(describe(e, self.delivery.timeout())),
        }
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
            .field("timeout", &self.delivery.timeout())
            .field("retries", &self.delivery.retries())
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
        self.delivery.max_duration()
    }
}
