//! The book's downloader (listing 2.10's `get_pictures`): every distinct URL once, a few at a
//! time, each into its own file, with a serializable record of what happened.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::download::{Fetched, Limits, fetch_to_part};
use super::part::prepare_dir;
use super::{FetchError, ImageFormat, file_names};

/// Limits for [`fetch_images`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Most downloads in flight at once (0 is taken as 1). Default 16.
    pub concurrency: usize,
    /// Largest accepted image, in bytes. Default 50 MiB.
    pub max_bytes: u64,
    /// Time allowed for one image, from sending the request to the file being in place.
    /// Default 60 s.
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            concurrency: 16,
            max_bytes: 50 * 1024 * 1024,
            timeout: Duration::from_secs(60),
        }
    }
}

/// A downloaded image, in its final place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// Where it was saved: the target directory joined with its file name.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its format, from its magic bytes.
    pub format: ImageFormat,
    /// How long the download took.
    pub elapsed: Duration,
}

/// What happened to one URL.
#[derive(Debug)]
pub struct ImageOutcome {
    /// The URL, as given.
    pub url: String,
    /// The file name it is (or would have been) saved under; `None` if the URL is invalid.
    pub file_name: Option<String>,
    /// The saved file, or why there is none.
    pub result: Result<ImageFile, FetchError>,
}

/// A serializable summary of an [`ImageOutcome`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictureRecord {
    /// The image URL.
    pub url: String,
    /// The file name it is (or would have been) saved under.
    pub file_name: Option<String>,
    /// Size of the saved file; `None` if the download failed.
    pub bytes: Option<u64>,
    /// [`FetchError::class`] of the failure.
    pub error_class: Option<String>,
    /// The failure, in words.
    pub error: Option<String>,
}

impl PictureRecord {
    /// Whether the image was saved.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

impl From<&ImageOutcome> for PictureRecord {
    fn from(outcome: &ImageOutcome) -> Self {
        let (bytes, error_class, error) = match &outcome.result {
            Ok(file) => (Some(file.bytes), None, None),
            Err(err) => (None, Some(err.class().to_owned()), Some(err.to_string())),
        };
        Self {
            url: outcome.url.clone(),
            file_name: outcome.file_name.clone(),
            bytes,
            error_class,
            error,
        }
    }
}

/// Downloads every distinct URL once into `dir` (created if missing), at most
/// `opts.concurrency` at a time, and reports one outcome per distinct URL, in first-seen order.
///
/// Each body is streamed to a hidden `.part` file next to its final name and renamed into
/// place only after it passed every check (2xx status, image magic bytes, size limit, complete
/// body). A failed download leaves no file behind. An existing file of the same name is
/// replaced. Failures are logged at `warn`, successes at `info`.
pub async fn fetch_images(
    client: &reqwest::Client,
    urls: &[String],
    dir: &Path,
    opts: &FetchOptions,
) -> Vec<ImageOutcome> {
    let names = file_names(urls);
    let dir_error = prepare_dir(dir).await.err();
    let mut outcomes: Vec<(usize, ImageOutcome)> = futures::stream::iter(
        names.into_iter().enumerate(),
    )
    .map(|(index, (url, name))| {
        let dir_error = dir_error.as_ref();
        async move {
            let file_name = name.as_ref().ok().cloned();
            let result = match (name, dir_error) {
                (Err(err), _) => Err(FetchError::InvalidUrl(err)),
                (Ok(_), Some(err)) => Err(FetchError::Io(std::io::Error::new(
                    err.kind(),
                    format!("cannot create {}: {err}", dir.display()),
                ))),
                (Ok(name), None) => fetch_one(client, &url, dir, &name, opts).await,
            };
            match &result {
                Ok(file) => tracing::info!(
                    url,
                    file = %file.path.display(),
                    bytes = file.bytes,
                    format = ?file.format,
                    elapsed_ms = file.elapsed.as_millis(),
                    "downloaded image"
                ),
                Err(err) => {
                    tracing::warn!(url, class = err.class(), cause = %err, "image download failed");
                }
            }
            (
                index,
                ImageOutcome {
                    url,
                    file_name,
                    result,
                },
            )
        }
    })
    .buffer_unordered(opts.concurrency.max(1))
    .collect()
    .await;
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

async fn fetch_one(
    client: &reqwest::Client,
    url: &str,
    dir: &Path,
    name: &str,
    opts: &FetchOptions,
) -> Result<ImageFile, FetchError> {
    let started = Instant::now();
    let download = download(client, url, dir, name, opts);
    // On timeout the download future is dropped, and with it the `.part` file.
    let (bytes, format, path) = tokio::time::timeout(opts.timeout, download)
        .await
        .map_err(|_| FetchError::Timeout {
            after: Some(opts.timeout),
        })??;
    Ok(ImageFile {
        path,
        bytes,
        format,
        elapsed: started.elapsed(),
    })
}

async fn download(
    client: &reqwest::Client,
    url: &str,
    dir: &Path,
    name: &str,
    opts: &FetchOptions,
) -> Result<(u64, ImageFormat, PathBuf), FetchError> {
    let fetched = fetch_to_part(
        client.get(url),
        dir,
        name,
        &Limits {
            max_bytes: opts.max_bytes,
            read_timeout: None,
            bandwidth: None,
        },
    )
    .await?;
    let Fetched::Body(body) = fetched else {
        unreachable!("no conditional request was made")
    };
    let path = dir.join(name);
    body.part.persist(&path).await?;
    Ok((body.bytes, body.format, path))
}
