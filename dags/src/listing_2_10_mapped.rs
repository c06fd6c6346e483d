//! The book's Rocket DAG with one task instance per picture (Airflow's dynamic task mapping):
//! `download_launches` → `image_urls` → `get_picture.expand(urls)` → `notify_mapped`.
//!
//! Each picture gets its own state, retries and log (`…/task_id=get_picture/map_index=3/`), so a
//! picture whose server hiccups is retried alone, and a resumed run downloads only the pictures
//! that did not succeed.

use rocket_dag::prelude::*;

use crate::assets::{IMAGE_COUNT, IMAGE_HOSTS, IMAGES};
use crate::images::{FetchOptions, PictureRecord, fetch_images};
use crate::listing_2_10::{download_launches, images_dir};
use crate::ll2::Launch;

/// The distinct image URLs of the launches, in launch order (each becomes one `get_picture`).
#[task(layer = "storage")]
pub async fn image_urls(launches: Vec<Launch>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let urls: Vec<String> = launches
        .into_iter()
        .filter_map(|l| l.image_url)
        .filter(|u| seen.insert(u.clone()))
        .collect();
    tracing::info!(urls = urls.len(), "distinct image URLs");
    urls
}

/// Download one picture into `images/`.
///
/// Failures the network may not repeat (refused or reset connections, timeouts, HTTP 5xx and
/// 429) are retried with backoff; the others (404, not an image, too large, a bad URL) fail the
/// instance at once.
#[task(
    retries = 2,
    retry_delay = "2s",
    retry_exponential_backoff = true,
    execution_timeout = "5m",
    layer = "storage",
    reads = [IMAGE_HOSTS],
    writes = [IMAGES]
)]
pub async fn get_picture(ctx: &TaskContext, url: String) -> Result<PictureRecord, TaskError> {
    let dir = images_dir(ctx);
    let mut outcomes = fetch_images(
        ctx.http(),
        std::slice::from_ref(&url),
        &dir,
        &FetchOptions::default(),
    )
    .await;
    let outcome = outcomes
        .pop()
        .ok_or_else(|| TaskError::fail_now("no outcome for the URL"))?;
    let record = PictureRecord::from(&outcome);
    crate::counts::pictures(ctx, std::slice::from_ref(&record));
    match outcome.result {
        Ok(file) => {
            tracing::info!(path = %file.path.display(), bytes = file.bytes, "saved");
            Ok(record)
        }
        Err(e) => {
            let class = e.class();
            let msg = format!("{url}: {e} ({class})");
            if matches!(
                class,
                "connect" | "timeout" | "http_5xx" | "http_429" | "http"
            ) {
                Err(TaskError::msg(msg))
            } else {
                Err(TaskError::fail_now(msg))
            }
        }
    }
}

/// Report how many images there are now. Runs when some pictures failed too (`all_done`), with
/// the records of those that succeeded, as the book's `notify` always runs.
#[task(
    trigger_rule = "all_done",
    layer = "business",
    reads = [IMAGES],
    writes = [IMAGE_COUNT]
)]
pub async fn notify_mapped(
    ctx: &TaskContext,
    pictures: Vec<PictureRecord>,
) -> Result<usize, TaskError> {
    let dir = images_dir(ctx);
    let n = crate::listing_2_10::count_images(&dir)
        .with_context(|| format!("counting files in {}", dir.display()))?;
    let message = format!("There are now {n} images.");
    println!("{message}");
    tracing::info!(downloaded_this_run = pictures.len(), "{message}");
    Ok(n)
}

/// Download rocket launches and their pictures, one mapped task instance per picture.
///
/// **Task statement.** The book's Rocket pipeline (listing 2.10), with Airflow's dynamic task
/// mapping: `get_picture` runs once per distinct picture URL, so each picture has its own
/// state, retries and log, and a resumed run downloads only the pictures that failed.
/// `notify_mapped` runs even when some pictures failed (`all_done`) and counts what is there.
#[dag(schedule = "@daily", start_date = "2024-01-01", catchup = false, tags = ["rocket", "mapped"])]
pub fn listing_2_10_mapped() {
    let launches = download_launches();
    let urls = image_urls(launches);
    let pictures = get_picture.expand(urls);
    notify_mapped(pictures);
}
