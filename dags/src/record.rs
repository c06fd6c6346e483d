//! What is recorded for every launch's picture (one [`ImageRecord`] per launch, per run), as
//! the download reports and the history read it.

use serde::{Deserialize, Serialize};

/// What happened to a launch's picture in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Downloaded and stored by this run.
    Downloaded,
    /// Stored by an earlier run and still valid (not downloaded again, or answered
    /// `304 Not Modified`).
    AlreadyPresent,
    /// Another launch of this run has the same URL: downloaded once, for that launch.
    DuplicateUrl,
    /// Downloaded, but the same bytes are already stored under another name: not stored twice.
    DuplicateContent,
    /// Every source failed.
    Failed,
    /// The launch has no image URL.
    NoImage,
}

impl Outcome {
    /// `downloaded`, `already_present`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Downloaded => "downloaded",
            Outcome::AlreadyPresent => "already_present",
            Outcome::DuplicateUrl => "duplicate_url",
            Outcome::DuplicateContent => "duplicate_content",
            Outcome::Failed => "failed",
            Outcome::NoImage => "no_image",
        }
    }
    /// Whether the launch has its picture on disk after the run.
    pub fn is_ok(self) -> bool {
        !matches!(self, Outcome::Failed | Outcome::NoImage)
    }
}

/// Which URL served the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The launch's `image` (2.3.0: `image.image_url`).
    Primary,
    /// The 2.3.0 `image.thumbnail_url`.
    Thumbnail,
    /// The rocket configuration's image.
    RocketConfiguration,
}

/// One launch's picture in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// LL2 launch id.
    pub launch_id: String,
    /// Launch name.
    pub launch_name: String,
    /// Rocket configuration name.
    pub rocket: Option<String>,
    /// The URL that was tried last (the primary one when none worked).
    pub url: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// Why it failed: `invalid_url`, `dns`, `connect`, `timeout`, `tls`, `http_4xx`,
    /// `http_429`, `http_5xx`, `too_large`, `not_an_image`, `truncated`, `io`.
    pub error_class: Option<String>,
    /// The failure in words.
    pub error: Option<String>,
    /// HTTP status of the last response.
    pub http_status: Option<u16>,
    /// Bytes received (or stored, for `already_present`).
    pub bytes: Option<u64>,
    /// Time to the first byte of the body, in milliseconds.
    pub ttfb_ms: Option<f64>,
    /// Time from the request to the file in place, in milliseconds.
    pub total_ms: Option<f64>,
    /// Bytes per second over the whole download.
    pub throughput_bps: Option<f64>,
    /// HTTP requests made (retries and fallbacks included).
    pub attempts: u32,
    /// Which URL served it.
    pub source: Option<Source>,
    /// SHA-256 of the stored bytes, hex.
    pub sha256: Option<String>,
    /// File name under the images folder.
    pub file_name: Option<String>,
    /// Host of `url`.
    pub host: Option<String>,
    /// Every request that failed, in order (retried, or followed by a fallback URL; the last
    /// one is the record's own error when the picture failed), at most
    /// [`MAX_FAILED_ATTEMPTS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_attempts: Vec<FailedAttempt>,
}

/// The most failed requests kept per picture (retries and fallbacks are bounded anyway; this
/// bounds the record whatever the settings).
pub const MAX_FAILED_ATTEMPTS: usize = 20;

/// One request for a picture that failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedAttempt {
    /// The URL asked.
    pub url: String,
    /// The failure's class (as [`ImageRecord::error_class`]).
    pub error_class: String,
    /// The failure in words.
    pub error: String,
    /// The HTTP status, when there was an answer.
    pub http_status: Option<u16>,
    /// From the request to the failure, in milliseconds.
    pub ms: f64,
}
