//! What the Rocket tasks count for whoever observes their runs ([`TaskContext::count`]):
//! `/metrics` of `standalone` shows them as `rocket_dag_images_downloaded_total{dag_id}`,
//! `rocket_dag_images_failed_total{dag_id,class}` and
//! `rocket_dag_images_downloaded_bytes_total{dag_id}`. Failures are counted by their class
//! ([`FetchError::class`](crate::images::FetchError::class)), never by URL or launch, so the
//! series stay few.

use std::collections::BTreeMap;

use rocket_dag::TaskContext;

use crate::images::PictureRecord;
use crate::record::{ImageRecord, Outcome};

/// Images downloaded and stored by a run.
pub const IMAGES_DOWNLOADED: &str = "images_downloaded";
/// Images that could not be downloaded, by [`CLASS`].
pub const IMAGES_FAILED: &str = "images_failed";
/// Bytes of the images downloaded.
pub const IMAGES_DOWNLOADED_BYTES: &str = "images_downloaded_bytes";
/// The label of [`IMAGES_FAILED`]: the failure's class (`timeout`, `http_5xx`, …).
pub const CLASS: &str = "class";

/// Counts what happened to images: `(bytes)` for each one stored, `Err(class)` for each
/// failure.
fn count<'a>(ctx: &TaskContext, outcomes: impl IntoIterator<Item = Result<u64, &'a str>>) {
    let (mut downloaded, mut bytes) = (0, 0);
    let mut failed: BTreeMap<&str, u64> = BTreeMap::new();
    for o in outcomes {
        match o {
            Ok(b) => {
                downloaded += 1;
                bytes += b;
            }
            Err(class) => *failed.entry(class).or_default() += 1,
        }
    }
    ctx.count(IMAGES_DOWNLOADED, downloaded);
    ctx.count(IMAGES_DOWNLOADED_BYTES, bytes);
    for (class, n) in failed {
        ctx.count_by(IMAGES_FAILED, CLASS, class, n);
    }
}

/// Counts the book's downloads (`get_pictures`, `get_picture`).
pub fn pictures(ctx: &TaskContext, records: &[PictureRecord]) {
    count(
        ctx,
        records.iter().map(|r| match (&r.error_class, r.bytes) {
            (None, bytes) => Ok(bytes.unwrap_or(0)),
            (Some(class), _) => Err(class.as_str()),
        }),
    );
}

/// Counts the fetcher's downloads (`fetch_images`): images already stored, duplicates and
/// launches without an image are not downloads.
pub fn images(ctx: &TaskContext, records: &[ImageRecord]) {
    count(
        ctx,
        records.iter().filter_map(|r| match r.outcome {
            Outcome::Downloaded => Some(Ok(r.bytes.unwrap_or(0))),
            Outcome::Failed => Some(Err(r.error_class.as_deref().unwrap_or("unknown"))),
            _ => None,
        }),
    );
}
