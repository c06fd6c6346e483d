//! One image GET as the fetchers need it: the response checked, the body streamed into a
//! `.part` file within the limits (size, read timeout, bandwidth), sniffed, decoded, hashed.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, ETAG, HeaderName, LAST_MODIFIED, RETRY_AFTER};
use sha2::Digest;

use super::part::PartFile;
use super::{FetchError, ImageFormat, SNIFF_LEN, check_header, check_header_bytes, sniff_image};

/// A body larger than this streams to its `.part` file; a smaller one is written in one go.
const SPILL_BYTES: usize = 1024 * 1024;

/// Limits of one download.
pub(crate) struct Limits<'a> {
    pub(crate) max_bytes: u64,
    /// Longest wait for the next piece of the body.
    pub(crate) read_timeout: Option<Duration>,
    /// A bandwidth cap shared by the downloads.
    pub(crate) bandwidth: Option<&'a Bandwidth>,
}

/// What a GET produced.
pub(crate) enum Fetched {
    /// `304 Not Modified` to a conditional request.
    NotModified {
        /// Time to the response head.
        ttfb: Duration,
    },
    /// A complete, checked image in a `.part` file, not yet in place.
    Body(Box<Body>),
}

/// A downloaded image waiting to be put in place (or dropped, which deletes it).
pub(crate) struct Body {
    pub(crate) part: PartFile,
    pub(crate) bytes: u64,
    pub(crate) format: ImageFormat,
    pub(crate) sha256: String,
    pub(crate) status: u16,
    pub(crate) ttfb: Duration,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
}

/// A bandwidth cap in bytes per second, shared by every download that holds it: each piece of
/// a body waits for its share (a token bucket without burst beyond one piece).
#[derive(Debug)]
pub struct Bandwidth {
    bytes_per_sec: f64,
    next: std::sync::Mutex<tokio::time::Instant>,
}

impl Bandwidth {
    /// A cap of `bytes_per_sec` (at least 1).
    pub fn new(bytes_per_sec: u64) -> Self {
        Bandwidth {
            bytes_per_sec: bytes_per_sec.max(1) as f64,
            next: std::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits until `n` more bytes fit under the cap.
    pub async fn take(&self, n: usize) {
        let wait = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = tokio::time::Instant::now();
            let start = (*next).max(now);
            *next = start + Duration::from_secs_f64(n as f64 / self.bytes_per_sec);
            start - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Sends `request` and streams a 2xx body into a `.part` file beside `name`, checking it on the
/// way (image magic bytes before anything is written, the size cap, the announced length, the
/// read timeout) and its header decoded at the end; hashes it with SHA-256.
pub(crate) async fn fetch_to_part(
    request: reqwest::RequestBuilder,
    dir: &Path,
    name: &str,
    limits: &Limits<'_>,
) -> Result<Fetched, FetchError> {
    let sent = Instant::now();
    let mut response = request.send().await.map_err(FetchError::from_reqwest)?;
    let ttfb = sent.elapsed();
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified { ttfb });
    }
    refuse_status(&response)?;
    let (etag, last_modified) = (header(&response, ETAG), header(&response, LAST_MODIFIED));
    let expected = response.content_length();
    if expected.is_some_and(|len| len > limits.max_bytes) {
        return Err(FetchError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let mut incoming = Incoming::new(dir, name, header(&response, CONTENT_TYPE), expected);
    receive(&mut response, limits, expected, &mut incoming).await?;
    let received = incoming.finish().await?;
    Ok(Fetched::Body(Box::new(Body {
        part: received.part,
        bytes: received.bytes,
        format: received.format,
        sha256: received.sha256,
        status: status.as_u16(),
        ttfb,
        etag,
        last_modified,
    })))
}

/// A 429 (with its `Retry-After`) or any other status but 2xx, as the error it is.
fn refuse_status(response: &reqwest::Response) -> Result<(), FetchError> {
    let status = response.status();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let retry_after = header(response, RETRY_AFTER)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        return Err(FetchError::RateLimited { retry_after });
    }
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    Ok(())
}

/// A response header as text, if it is there and readable.
pub(crate) fn header(response: &reqwest::Response, name: HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Reads the body into `incoming` within the size cap, the read timeout and the bandwidth cap,
/// then checks that it is as long as announced.
async fn receive(
    response: &mut reqwest::Response,
    limits: &Limits<'_>,
    expected: Option<u64>,
    incoming: &mut Incoming<'_>,
) -> Result<(), FetchError> {
    while let Some(chunk) =
        next_chunk(response, limits.read_timeout, expected, incoming.received).await?
    {
        incoming.received += chunk.len() as u64;
        if incoming.received > limits.max_bytes {
            return Err(FetchError::TooLarge {
                limit: limits.max_bytes,
            });
        }
        if let Some(cap) = limits.bandwidth {
            cap.take(chunk.len()).await;
        }
        incoming.push(&chunk).await?;
    }
    if let Some(expected) = expected
        && incoming.received != expected
    {
        return Err(FetchError::Truncated {
            expected,
            received: incoming.received,
        });
    }
    Ok(())
}

/// The next piece of the body, `None` at its end.
async fn next_chunk(
    response: &mut reqwest::Response,
    read_timeout: Option<Duration>,
    expected: Option<u64>,
    received: u64,
) -> Result<Option<Bytes>, FetchError> {
    let next = match read_timeout {
        Some(limit) => tokio::time::timeout(limit, response.chunk())
            .await
            .map_err(|_| FetchError::Timeout { after: Some(limit) })?,
        None => response.chunk().await,
    };
    next.map_err(|err| match expected {
        // hyper reports a body cut short of its Content-Length as a body error.
        Some(expected) if received < expected && !err.is_timeout() => {
            FetchError::Truncated { expected, received }
        }
        _ => FetchError::from_reqwest(err),
    })
}

/// A body on its way in, sniffed and hashed as it comes.
///
/// Most pictures are small: they stay in memory and are checked and written in one go on
/// the blocking pool (creating files is what costs on this kind of disk). A body past
/// SPILL_BYTES streams into its `.part` file instead, so memory stays bounded whatever the
/// image's size. Nothing is written before the magic bytes prove an image.
struct Incoming<'a> {
    dir: &'a Path,
    name: &'a str,
    content_type: Option<String>,
    buffer: Vec<u8>,
    format: Option<ImageFormat>,
    spilled: Option<PartFile>,
    received: u64,
    hasher: sha2::Sha256,
}

/// A complete body, checked, in its `.part` file.
struct Received {
    part: PartFile,
    bytes: u64,
    format: ImageFormat,
    sha256: String,
}

impl<'a> Incoming<'a> {
    fn new(
        dir: &'a Path,
        name: &'a str,
        content_type: Option<String>,
        expected: Option<u64>,
    ) -> Self {
        Incoming {
            dir,
            name,
            content_type,
            // Sized from Content-Length up front: no copies while the buffer grows.
            buffer: Vec::with_capacity(expected.map_or(64 * 1024, |n| {
                usize::try_from(n)
                    .unwrap_or(SPILL_BYTES)
                    .min(SPILL_BYTES + 1)
            })),
            format: None,
            spilled: None,
            received: 0,
            hasher: sha2::Sha256::new(),
        }
    }

    /// Takes one piece of the body (counted in `received` by the caller).
    async fn push(&mut self, chunk: &[u8]) -> Result<(), FetchError> {
        self.hasher.update(chunk);
        if let Some(part) = &mut self.spilled {
            part.write(chunk).await?;
            return Ok(());
        }
        self.buffer.extend_from_slice(chunk);
        if self.format.is_none() && self.buffer.len() >= SNIFF_LEN {
            self.format = Some(sniff_image(&self.buffer).ok_or_else(|| self.not_an_image())?);
        }
        if self.buffer.len() > SPILL_BYTES {
            let mut part = PartFile::create(self.dir, self.name)?;
            part.write(&self.buffer).await?;
            self.buffer = Vec::new();
            self.spilled = Some(part);
        }
        Ok(())
    }

    fn not_an_image(&self) -> FetchError {
        FetchError::NotAnImage {
            content_type: self.content_type.clone(),
        }
    }

    /// The body in its `.part` file, its header decoded.
    async fn finish(self) -> Result<Received, FetchError> {
        // A body shorter than SNIFF_LEN: decide on what there is.
        let format = match self.format {
            Some(f) => f,
            None => sniff_image(&self.buffer).ok_or_else(|| self.not_an_image())?,
        };
        let part = match self.spilled {
            Some(mut part) => {
                part.finish().await?;
                check_header(part.path(), format).await?;
                part
            }
            None => {
                let (dir, name, buffer) = (self.dir.to_owned(), self.name.to_owned(), self.buffer);
                tokio::task::spawn_blocking(move || {
                    check_header_bytes(&buffer, format)?;
                    Ok::<_, FetchError>(PartFile::write_new(&dir, &name, &buffer)?)
                })
                .await
                .map_err(std::io::Error::other)??
            }
        };
        Ok(Received {
            part,
            bytes: self.received,
            format,
            sha256: hex(&self.hasher.finalize()),
        })
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
