//! One source URL of a launch: its stored copy, the GET (conditional when the copy has
//! validators) with retries, and the picture stored once.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::{Fetcher, StoredImage, blank, failed, host_of, ms};
use crate::images::{Body, FetchError, Fetched, Limits, fetch_to_part};
use crate::ll2::Launch;
use crate::record::{FailedAttempt, ImageRecord, Outcome};

impl Fetcher {
    /// One URL, with retries.
    pub(super) async fn fetch_source(&self, launch: &Launch, url: &str) -> ImageRecord {
        let name = match self.names.get(url) {
            Some(Ok(n)) => n,
            Some(Err(e)) => return failed(launch, Some(url), "invalid_url", e),
            None => {
                return failed(
                    launch,
                    Some(url),
                    "invalid_url",
                    "no file name for this URL",
                );
            }
        };
        let base = blank(launch, Some(url));
        // Present and intact from an earlier run?
        let known = self.present(url).await;
        if let Some(stored) = &known
            && stored.etag.is_none()
            && stored.last_modified.is_none()
        {
            return ImageRecord {
                outcome: Outcome::AlreadyPresent,
                bytes: Some(stored.bytes),
                sha256: Some(stored.sha256.clone()),
                file_name: Some(stored.file_name.clone()),
                ..base
            };
        }
        let per_host = self.host_slots(url);
        let mut tries = 0u32;
        let mut failures = Vec::new();
        loop {
            tries += 1;
            let started = Instant::now();
            let result = self.attempt(url, name, known.as_ref(), &per_host).await;
            let total = started.elapsed();
            if let Err(e) = &result
                && failures.len() < crate::record::MAX_FAILED_ATTEMPTS
            {
                failures.push(FailedAttempt {
                    url: url.to_owned(),
                    error_class: e.class().to_owned(),
                    error: e.to_string(),
                    http_status: status_of(e),
                    ms: ms(total),
                });
            }
            let tried = ImageRecord {
                total_ms: Some(ms(total)),
                attempts: tries,
                failed_attempts: failures.clone(),
                ..base.clone()
            };
            match result {
                Ok(Fetched::NotModified { ttfb }) => {
                    let stored = known
                        .clone()
                        .expect("conditional requests have a stored copy");
                    return not_modified(tried, stored, ttfb);
                }
                Ok(Fetched::Body(body)) => return self.store(url, name, *body, tried, total).await,
                Err(e) => {
                    if let Some(delay) = self.retry_delay(&e, tries) {
                        tracing::debug!(%url, class = e.class(), "retrying in {delay:?}: {e}");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return failure(tried, &e);
                }
            }
        }
    }

    /// The semaphore that bounds the downloads from `url`'s host.
    fn host_slots(&self, url: &str) -> Arc<Semaphore> {
        let host = host_of(url).unwrap_or_default();
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        hosts
            .entry(host)
            .or_insert_with(|| Arc::new(Semaphore::new(self.config.per_host)))
            .clone()
    }

    /// One GET of `url` within a slot of its host, conditional on the `known` copy's
    /// validators, within the total timeout.
    async fn attempt(
        &self,
        url: &str,
        name: &str,
        known: Option<&StoredImage>,
        per_host: &Semaphore,
    ) -> Result<Fetched, FetchError> {
        let _slot = per_host.acquire().await;
        let mut req = self.http.get(url);
        if let Some(stored) = known {
            if let Some(etag) = &stored.etag {
                req = req.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &stored.last_modified {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
        }
        let limits = Limits {
            max_bytes: self.config.max_bytes,
            read_timeout: Some(self.config.read_timeout),
            bandwidth: self.bandwidth.as_ref(),
        };
        match tokio::time::timeout(
            self.config.total_timeout,
            fetch_to_part(req, &self.dir, name, &limits),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout {
                after: Some(self.config.total_timeout),
            }),
        }
    }

    /// How long to wait before trying again after `e` on try `tries`; `None` when not to:
    /// the failure is not transient, the retries are spent, or the server asks for a wait
    /// longer than [`FetcherConfig::max_retry_after`](super::FetcherConfig::max_retry_after).
    fn retry_delay(&self, e: &FetchError, tries: u32) -> Option<Duration> {
        let retry_after = match e {
            FetchError::RateLimited { retry_after } => *retry_after,
            _ => None,
        };
        let too_long = retry_after.is_some_and(|d| d > self.config.max_retry_after);
        if !e.is_transient() || tries > self.config.retries || too_long {
            return None;
        }
        let backoff = rocket_dag::retry::Backoff::exponential(self.config.backoff).delay(tries);
        Some(retry_after.unwrap_or(backoff).max(backoff))
    }

    /// Puts a downloaded picture in place under `name` — unless the same bytes are stored
    /// already, under another name — and remembers it.
    async fn store(
        &self,
        url: &str,
        name: &str,
        body: Body,
        tried: ImageRecord,
        total: Duration,
    ) -> ImageRecord {
        let mut record = ImageRecord {
            outcome: Outcome::Downloaded,
            http_status: Some(body.status),
            bytes: Some(body.bytes),
            ttfb_ms: Some(ms(body.ttfb)),
            throughput_bps: (total.as_secs_f64() > 0.0)
                .then(|| (body.bytes as f64 / total.as_secs_f64()).round()),
            sha256: Some(body.sha256.clone()),
            file_name: Some(name.to_owned()),
            ..tried
        };
        // Decide under the manifest's lock, so two URLs with the same bytes in this run store
        // them once.
        let duplicate_of = {
            let manifest = self.manifest.lock().unwrap_or_else(PoisonError::into_inner);
            manifest
                .by_sha(&body.sha256)
                .filter(|s| s.file_name != name && self.dir.join(&s.file_name).is_file())
                .cloned()
        };
        if let Some(other) = duplicate_of {
            drop(body.part); // deletes the .part file
            record.outcome = Outcome::DuplicateContent;
            record.file_name = Some(other.file_name.clone());
            self.remember(url, other);
            return record;
        }
        if let Err(e) = body.part.persist(&self.dir.join(name)).await {
            return ImageRecord {
                outcome: Outcome::Failed,
                error_class: Some("io".into()),
                error: Some(format!("cannot store {name}: {e}")),
                file_name: None,
                ..record
            };
        }
        self.remember(
            url,
            StoredImage {
                file_name: name.to_owned(),
                sha256: body.sha256,
                bytes: body.bytes,
                etag: body.etag,
                last_modified: body.last_modified,
                // Just written: too recent to trust (hashed at the next run).
                mtime_ns: None,
            },
        );
        record
    }
}

/// `304 Not Modified`: the stored copy is still the picture.
fn not_modified(tried: ImageRecord, stored: StoredImage, ttfb: Duration) -> ImageRecord {
    ImageRecord {
        outcome: Outcome::AlreadyPresent,
        http_status: Some(304),
        bytes: Some(stored.bytes),
        sha256: Some(stored.sha256),
        file_name: Some(stored.file_name),
        ttfb_ms: Some(ms(ttfb)),
        ..tried
    }
}

/// The source failed for good with `e`.
fn failure(tried: ImageRecord, e: &FetchError) -> ImageRecord {
    ImageRecord {
        outcome: Outcome::Failed,
        error_class: Some(e.class().to_owned()),
        error: Some(e.to_string()),
        http_status: status_of(e),
        ..tried
    }
}

/// The HTTP status a failure carries, if any.
fn status_of(e: &FetchError) -> Option<u16> {
    match e {
        FetchError::Status(s) => Some(*s),
        FetchError::RateLimited { .. } => Some(429),
        _ => None,
    }
}
