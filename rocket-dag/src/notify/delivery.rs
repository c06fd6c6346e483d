//! How the network notifiers (webhook, email) deliver an event: a time limit per attempt,
//! retries with exponential backoff on what may heal, and, after a delivery failed for good,
//! a single attempt per event until one gets through — so a channel that is down does not
//! hold every event for its whole retry budget.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{FIRST_BACKOFF, MAX_BACKOFF, MAX_WEBHOOK_RETRIES, format_duration};

/// What an attempt gets beyond its channel's own time limit (reqwest's, lettre's) before it is
/// dropped: the channel's limit decides, with its own message; this only backs it up.
const BACKSTOP: Duration = Duration::from_secs(1);

/// What one attempt came to.
pub(super) enum Attempt {
    /// Delivered.
    Sent,
    /// Failed with this cause; another attempt may succeed.
    Retry(String),
    /// Failed with this cause; another attempt would fail alike.
    Fail(String),
}

/// A delivery that did not get through: after how many attempts, and the last cause.
pub(super) struct Undelivered {
    pub(super) attempts: u32,
    pub(super) cause: String,
}

/// The retry policy of one notifier, and whether its channel is known to be down.
#[derive(Debug)]
pub(super) struct Delivery {
    timeout: Duration,
    retries: u32,
    first_backoff: Duration,
    degraded: AtomicBool,
}

impl Delivery {
    /// `retries` more attempts after the first (at most [`MAX_WEBHOOK_RETRIES`]), each
    /// allowed `timeout`.
    pub(super) fn new(timeout: Duration, retries: u32) -> Delivery {
        Delivery {
            timeout,
            retries: retries.min(MAX_WEBHOOK_RETRIES),
            first_backoff: FIRST_BACKOFF,
            degraded: AtomicBool::new(false),
        }
    }

    #[cfg(test)]
    pub(super) fn with_backoff(mut self, first: Duration) -> Delivery {
        self.first_backoff = first;
        self
    }

    /// The time allowed for one attempt.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Retries after the first attempt.
    pub(super) fn retries(&self) -> u32 {
        self.retries
    }

    fn backoff(&self, retry: u32) -> Duration {
        crate::retry::Backoff::exponential(self.first_backoff)
            .max(MAX_BACKOFF)
            .delay(retry)
    }

    /// The longest a delivery can take: every attempt timing out, and the waits between.
    pub(super) fn max_duration(&self) -> Duration {
        let tries = self.retries + 1;
        let backoff: Duration = (1..tries).map(|r| self.backoff(r)).sum();
        (self.timeout + BACKSTOP) * tries + backoff
    }

    /// Runs `attempt` until it is sent, fails for good, or the attempts are spent. An attempt
    /// that outlives [`timeout`](Self::timeout) (plus a second's backstop: the channel's own
    /// limit answers first) is dropped and counts as "no answer".
    /// `channel` names the channel in the debug log of each retry.
    pub(super) async fn run<F, Fut>(&self, channel: &str, mut attempt: F) -> Result<(), Undelivered>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt>,
    {
        let tries = if self.degraded.load(Ordering::Relaxed) {
            1
        } else {
            self.retries + 1
        };
        let mut cause = String::new();
        for n in 1..=tries {
            if n > 1 {
                let delay = self.backoff(n - 1);
                tracing::debug!(
                    target: "rocket_dag::notify",
                    "{channel}: {cause}; retrying in {}",
                    format_duration(delay)
                );
                tokio::time::sleep(delay).await;
            }
            match tokio::time::timeout(self.timeout + BACKSTOP, attempt()).await {
                Ok(Attempt::Sent) => {
                    self.degraded.store(false, Ordering::Relaxed);
                    return Ok(());
                }
                Ok(Attempt::Fail(c)) => {
                    return Err(Undelivered {
                        attempts: n,
                        cause: c,
                    });
                }
                Ok(Attempt::Retry(c)) => cause = c,
                Err(_) => cause = format!("no answer within {}", format_duration(self.timeout)),
            }
        }
        self.degraded.store(true, Ordering::Relaxed);
        Err(Undelivered {
            attempts: tries,
            cause,
        })
    }
}
