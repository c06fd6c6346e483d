//! Checking image URLs without downloading them: one `HEAD` per distinct URL.

use std::collections::HashMap;
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{FetcherConfig, ms};
use crate::images::{FetchError, header};
use crate::ll2::Launch;

/// Whether one image URL answers, from a `HEAD` request (nothing downloaded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    /// LL2 launch id.
    pub launch_id: String,
    /// The URL checked.
    pub url: String,
    /// Whether it answered 2xx with an image content type (or none).
    pub reachable: bool,
    /// The status, when it answered.
    pub http_status: Option<u16>,
    /// Its `Content-Type`.
    pub content_type: Option<String>,
    /// Its `Content-Length`.
    pub bytes: Option<u64>,
    /// Why not, in words.
    pub error: Option<String>,
    /// Time to the answer, in milliseconds.
    pub elapsed_ms: f64,
}

/// Checks every launch's image URL with `HEAD` (concurrently, within the configured limits),
/// downloading nothing.
pub async fn check_images(launches: &[Launch], config: &FetcherConfig) -> Vec<Availability> {
    let http = rocket_dag::http::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.total_timeout)
        .build()
        .unwrap_or_else(|_| rocket_dag::http::client());
    let http = &http;
    // One HEAD per distinct URL. Collected first: a borrowing iterator inside the stream would
    // not be `Send` for every lifetime, which a task's boxed future requires.
    let mut seen = std::collections::HashSet::new();
    let todo: Vec<(usize, String, String)> = launches
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Some((i, l.id.clone(), l.image_url.clone()?)))
        .filter(|(_, _, url)| seen.insert(url.clone()))
        .collect();
    let mut out: Vec<(usize, Availability)> = futures::stream::iter(todo)
        .map(|(i, launch_id, url)| async move { (i, check_one(http, launch_id, url).await) })
        .buffer_unordered(config.concurrency.max(1))
        .collect()
        .await;
    let by_url: HashMap<String, Availability> =
        out.drain(..).map(|(_, a)| (a.url.clone(), a)).collect();
    // Every launch with a URL gets its URL's answer.
    launches
        .iter()
        .filter_map(|l| {
            let a = by_url.get(l.image_url.as_deref()?)?;
            Some(Availability {
                launch_id: l.id.clone(),
                ..a.clone()
            })
        })
        .collect()
}

/// One `HEAD` of `url`, for the launch `launch_id`.
async fn check_one(http: &reqwest::Client, launch_id: String, url: String) -> Availability {
    let started = Instant::now();
    let result = http.head(&url).send().await;
    let elapsed_ms = ms(started.elapsed());
    match result {
        Ok(r) => {
            let content_type = header(&r, reqwest::header::CONTENT_TYPE);
            let image_type = content_type
                .as_deref()
                .is_none_or(|t| t.starts_with("image/") || t == "application/octet-stream");
            let ok = r.status().is_success() && image_type;
            Availability {
                launch_id,
                url,
                reachable: ok,
                http_status: Some(r.status().as_u16()),
                bytes: r.content_length(),
                error: (!ok).then(|| match &content_type {
                    Some(t) if r.status().is_success() => format!("not an image: {t}"),
                    _ => format!("HTTP {}", r.status()),
                }),
                content_type,
                elapsed_ms,
            }
        }
        Err(e) => Availability {
            launch_id,
            url,
            reachable: false,
            http_status: None,
            content_type: None,
            bytes: None,
            error: Some(FetchError::Http(e).to_string()),
            elapsed_ms,
        },
    }
}
