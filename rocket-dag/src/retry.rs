//! Retry delays with Airflow's semantics.

use std::time::Duration;

use crate::task::ResolvedTaskOptions;

/// The delay before retrying after attempt `try_number` (from 1) failed.
///
/// Without backoff it is `retry_delay`. With `retry_exponential_backoff` it is
/// `retry_delay · 2^(try_number-1)` plus a jitter in `[0, that)` derived from a hash of the
/// DAG, task, run and try (so it is deterministic, yet retries of many tasks do not stampede),
/// as Airflow does; `max_retry_delay` caps both.
pub fn delay(
    opts: &ResolvedTaskOptions,
    dag_id: &str,
    task_id: &str,
    run_id: &str,
    try_number: u32,
) -> Duration {
    let base = opts.retry_delay;
    let delay = if opts.retry_exponential_backoff {
        let exp = try_number.saturating_sub(1).min(32);
        let min_ms = base
            .as_millis()
            .saturating_mul(1u128 << exp)
            .clamp(1, u64::MAX as u128 / 2) as u64;
        let key = format!("{dag_id}#{task_id}#{run_id}#{try_number}");
        Duration::from_millis(min_ms + fnv1a(key.as_bytes()) % min_ms)
    } else {
        base
    };
    match opts.max_retry_delay {
        Some(cap) => delay.min(cap),
        None => delay,
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
}
