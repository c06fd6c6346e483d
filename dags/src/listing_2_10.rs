//! The book's Rocket DAG (*Data Pipelines with Apache Airflow*, listing 2.10), typed:
//! `download_launches` → `get_pictures` → `notify`.

use std::path::{Path, PathBuf};

use rocket_dag::prelude::*;
use serde::{Deserialize, Serialize};

use crate::assets::{IMAGE_COUNT, IMAGE_HOSTS, IMAGES, LAUNCHES_JSON, LL2_API};
use crate::images::{FetchOptions, PictureRecord, fetch_images};
use crate::ll2::{Launch, parse_page};
use crate::ll2_client::{ClientConfig, Ll2Client};

/// The Launch Library 2 endpoint the book uses.
pub const DEFAULT_LAUNCHES_URL: &str = "https://ll.thespacedevs.com/2.0.0/launch/upcoming/";
/// Environment variable that overrides the launches URL.
pub const LAUNCHES_URL_ENV: &str = "ROCKET_LAUNCHES_URL";
/// Run param that overrides the launches URL (`-p launches_url=…`).
pub const LAUNCHES_URL_PARAM: &str = "launches_url";
/// Time allowed for the launches request, body included.
const LAUNCHES_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Largest launches document accepted (the real one is ~30 KiB per 10 launches).
const MAX_LAUNCHES_BYTES: usize = 32 * 1024 * 1024;

/// The URL `download_launches` fetches: the `launches_url` param, else `$ROCKET_LAUNCHES_URL`,
/// else the public API.
pub fn launches_url(ctx: &TaskContext) -> String {
    ctx.param::<String>(LAUNCHES_URL_PARAM)
        .or_else(|| {
            std::env::var(LAUNCHES_URL_ENV)
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| DEFAULT_LAUNCHES_URL.to_owned())
}

/// `<home>/data/listing_2_10/images/`.
pub fn images_dir(ctx: &TaskContext) -> PathBuf {
    ctx.data_dir().join("images")
}

/// What `get_pictures` did, one record per distinct image URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pictures {
    /// Launches that had no image.
    pub launches_without_image: usize,
    /// Every distinct URL and its outcome.
    pub records: Vec<PictureRecord>,
}

impl Pictures {
    /// Images saved by this run.
    pub fn downloaded(&self) -> usize {
        self.records.iter().filter(|r| r.is_ok()).count()
    }
    /// Images that failed.
    pub fn failed(&self) -> usize {
        self.records.len() - self.downloaded()
    }
}

/// Fetch the upcoming launches from Launch Library 2 and store them as `launches.json`.
///
/// The document is checked before it is stored: malformed JSON fails the attempt and never
/// replaces a good `launches.json`. The file is written to a temporary name and renamed.
#[task(
    retries = 3,
    retry_delay = "2s",
    retry_exponential_backoff = true,
    layer = "source",
    reads = [LL2_API],
    writes = [LAUNCHES_JSON]
)]
pub async fn download_launches(ctx: &TaskContext) -> Result<Vec<Launch>, TaskError> {
    let url = launches_url(ctx);
    tracing::info!(%url, "fetching upcoming launches");
    // One request per attempt (this task's retries are the book's); a 429 is waited out when
    // the server asks for at most a minute, and what cannot heal (no such host, a page too
    // large) fails the task at once.
    let config = ClientConfig::default()
        .retries(0, std::time::Duration::ZERO)
        .timeout(LAUNCHES_TIMEOUT)
        .max_page_bytes(MAX_LAUNCHES_BYTES);
    let (body, _) = Ll2Client::new(ctx.http().clone(), config)
        .get(&url)
        .await
        .map_err(|e| e.into_task_error())?;
    // A malformed document fails at once: asking again would get the same one.
    let page = parse_page(&body).map_err(|e| {
        TaskError::fail_now(format!("the response of {url} is not a launch list: {e}"))
    })?;
    let path = ctx.data_dir().join("launches.json");
    write_atomically(&path, &body)
        .await
        .with_context(|| format!("storing {}", path.display()))?;
    tracing::info!(
        launches = page.results.len(),
        path = %path.display(),
        "stored the launches"
    );
    Ok(page.results)
}

/// Download every launch's picture into `images/`.
///
/// As in the book, one bad image never fails the task: each failure is logged with its cause.
/// Downloads stream to disk, run concurrently with a bound, fetch each distinct URL once, and
/// only a complete, real image ever appears under its final name.
#[task(
    execution_timeout = "10m",
    layer = "storage",
    reads = [IMAGE_HOSTS],
    writes = [IMAGES]
)]
pub async fn get_pictures(ctx: &TaskContext, launches: Vec<Launch>) -> Result<Pictures, TaskError> {
    let urls: Vec<String> = launches
        .iter()
        .filter_map(|l| l.image_url.clone())
        .collect();
    let launches_without_image = launches.len() - urls.len();
    let dir = images_dir(ctx);
    let outcomes = fetch_images(ctx.http(), &urls, &dir, &FetchOptions::default()).await;
    let pictures = Pictures {
        launches_without_image,
        records: outcomes.iter().map(PictureRecord::from).collect(),
    };
    crate::counts::pictures(ctx, &pictures.records);
    tracing::info!(
        downloaded = pictures.downloaded(),
        failed = pictures.failed(),
        without_image = launches_without_image,
        "pictures done"
    );
    Ok(pictures)
}

/// Report how many images there are now, as the book's `ls /tmp/images/ | wc -l` does.
#[task(layer = "business", reads = [IMAGES], writes = [IMAGE_COUNT])]
pub async fn notify(ctx: &TaskContext, pictures: Pictures) -> Result<usize, TaskError> {
    let dir = images_dir(ctx);
    let n = count_images(&dir).with_context(|| format!("counting files in {}", dir.display()))?;
    let message = format!("There are now {n} images.");
    println!("{message}");
    tracing::info!(
        downloaded_this_run = pictures.downloaded(),
        failed_this_run = pictures.failed(),
        "{message}"
    );
    Ok(n)
}

/// Download rocket launches and their pictures (Data Pipelines with Apache Airflow, listing 2.10).
///
/// **Task statement.** A rocket enthusiast wants every upcoming launch in one place. Each day,
/// fetch the upcoming launches from the Launch Library 2 API
/// (`https://ll.thespacedevs.com/2.0.0/launch/upcoming`), download the picture of every
/// launch, and report how many pictures there are.
///
/// | task | does | layer |
/// |---|---|---|
/// | `download_launches` | fetches the launches, stores them as `launches.json` | source |
/// | `get_pictures` | downloads each launch's picture into `images/` | storage |
/// | `notify` | prints "There are now N images." | business |
#[dag(schedule = "@daily", start_date = "2024-01-01", catchup = false, tags = ["rocket", "book"])]
pub fn listing_2_10() {
    let launches = download_launches();
    let pictures = get_pictures(launches);
    notify(pictures);
}

/// Files in `dir`, leaving out hidden in-progress downloads.
pub(crate) fn count_images(dir: &Path) -> std::io::Result<usize> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut n = 0;
            for e in entries {
                let e = e?;
                if e.file_type()?.is_file() && !e.file_name().to_string_lossy().starts_with('.') {
                    n += 1;
                }
            }
            Ok(n)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// Writes to a hidden temporary file in the same directory, then renames it into place, so
/// readers never see a half-written file; the temporary file is removed if anything fails or
/// the task is cancelled in between.
pub(crate) async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let path = path.to_owned();
    let bytes = bytes.to_vec();
    // Blocking file I/O off the async workers.
    tokio::task::spawn_blocking(move || rocket_dag::fs::write_atomically(&path, &bytes))
        .await
        .map_err(std::io::Error::other)?
}
