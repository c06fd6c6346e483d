//! Retry delays: one exponential backoff ([`Backoff`]) for everything that asks again (task
//! retries with Airflow's semantics, notifications, API clients, downloads).

use std::time::Duration;

use crate::task::ResolvedTaskOptions;

/// Exponential backoff: `first · 2^(n-1)` before retry `n` (from 1), at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the first retry.
    pub first: Duration,
    /// The longest delay, if capped.
    pub max: Option<Duration>,
}

impl Backoff {
    /// Doubling from `first`, uncapped.
    pub fn exponential(first: Duration) -> Self {
        Backoff { first, max: None }
    }

    /// Caps every delay at `max`.
    pub fn max(mut self, max: Duration) -> Self {
        self.max = Some(max);
        self
    }

    /// The delay before retry `retry` (from 1; 0 counts as 1).
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(32);
        self.cap(self.first.saturating_mul(2u32.saturating_pow(exp)))
    }

    /// [`Backoff::delay`] plus a jitter in `[0, delay)` derived from a hash of `key` (so it is
    /// deterministic, yet many retries at once do not stampede), as Airflow does; capped.
    pub fn delay_with_jitter(&self, retry: u32, key: &str) -> Duration {
        let min_ms = self
            .first
            .as_millis()
            .saturating_mul(1u128 << retry.saturating_sub(1).min(32))
            .clamp(1, u64::MAX as u128 / 2) as u64;
        self.cap(Duration::from_millis(
            min_ms + fnv1a(key.as_bytes()) % min_ms,
        ))
    }

    fn cap(&self, d: Duration) -> Duration {
        match self.max {
            Some(max) => d.min(max),
            None => d,
        }
    }
}

/// The delay before retrying after attempt `try_number` (from 1) failed.
///
/// Without backoff it is `retry_delay`. With `retry_exponential_backoff` it is
/// `retry_delay · 2^(try_number-1)` plus a jitter in `[0, that)` derived from a hash of the
/// DAG, task, run and try, as Airflow does; `max_retry_delay` caps both.
pub fn delay(
    opts: &ResolvedTaskOptions,
    dag_id: &str,
    task_id: &str,
    run_id: &str,
    try_number: u32,
) -> Duration {
    let mut backoff = Backoff::exponential(opts.retry_delay);
    if let Some(cap) = opts.max_retry_delay {
        backoff = backoff.max(cap);
    }
    if opts.retry_exponential_backoff {
        let key = format!("{dag_id}#{task_id}#{run_id}#{try_number}");
        backoff.delay_with_jitter(try_number, &key)
    } else {
        backoff.cap(opts.retry_delay)
    }
}

/// FNV-1a: tiny, stable across Rust versions (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskOptions;

    #[test]
    fn exponential_backoff_doubles_with_jitter_and_cap() {
        let opts = TaskOptions::new()
            .retry_delay(Duration::from_secs(2))
            .retry_exponential_backoff(true)
            .resolve();
        for t in 1..=4u32 {
            let d = delay(&opts, "d", "t", "r", t);
            let min = Duration::from_secs(2 * 2u64.pow(t - 1));
            assert!(d >= min && d < 2 * min, "try {t}: {d:?}");
            assert_eq!(d, delay(&opts, "d", "t", "r", t), "deterministic");
        }
        let capped = TaskOptions::new()
            .retry_delay(Duration::from_secs(2))
            .retry_exponential_backoff(true)
            .max_retry_delay(Duration::from_secs(5))
            .resolve();
        assert_eq!(delay(&capped, "d", "t", "r", 10), Duration::from_secs(5));
        let flat = TaskOptions::new()
            .retry_delay(Duration::from_secs(3))
            .resolve();
        assert_eq!(delay(&flat, "d", "t", "r", 3), Duration::from_secs(3));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff::exponential(Duration::from_millis(500)).max(Duration::from_secs(3));
        let delays: Vec<u128> = (1..=5).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 3000, 3000]);
        assert_eq!(b.delay(0), Duration::from_millis(500));
        // Far retries saturate rather than overflow.
        assert!(
            Backoff::exponential(Duration::from_secs(1)).delay(40) >= Duration::from_secs(1 << 31)
        );
    }
}
