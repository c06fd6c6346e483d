//! What is stored, by URL: the manifest `<dir>/.manifest.json`, and whether a stored copy is
//! still there and intact (size, modification time, SHA-256).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::PoisonError;

use serde::{Deserialize, Serialize};

use super::Fetcher;

/// Name of the manifest inside the images folder.
pub const MANIFEST: &str = ".manifest.json";

/// One stored picture, as the manifest remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredImage {
    /// File name in the images folder.
    pub file_name: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// The server's `ETag`, if it sent one.
    #[serde(default)]
    pub etag: Option<String>,
    /// The server's `Last-Modified`, if it sent one.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// The file's modification time (ns since the epoch) when it was hashed and found
    /// intact, recorded only if it was then at least [`MTIME_MARGIN`] in the past: while size
    /// and time are unchanged, the copy is taken as intact without reading it again.
    #[serde(default)]
    pub mtime_ns: Option<i128>,
}

/// How old a file's modification time must be before it is trusted. File systems keep times
/// at a coarse grain (a kernel tick, up to 2 s on some): a file rewritten with the same size
/// within one grain of its last check would keep its time ("racy git"). A time older than
/// the grain at the check cannot be repeated by a later write.
pub const MTIME_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// A file's size and modification time (ns since the epoch).
fn stat(path: &Path) -> Option<(u64, i128)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), epoch_ns(meta.modified().ok()?)))
}

pub(super) fn epoch_ns(t: std::time::SystemTime) -> i128 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// `mtime` if it is old enough to be trusted later (see [`MTIME_MARGIN`]).
fn trustworthy(mtime: i128) -> Option<i128> {
    let now = epoch_ns(std::time::SystemTime::now());
    (mtime < now - MTIME_MARGIN.as_nanos() as i128).then_some(mtime)
}

/// `<dir>/.manifest.json`: what is stored, by URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// URL → the file it is stored in.
    pub images: BTreeMap<String, StoredImage>,
}

impl Manifest {
    /// Reads the manifest of `dir`; a missing or unreadable one is empty (its pictures are
    /// then downloaded again).
    ///
    /// An entry whose file name is not a plain name in `dir` (a path, `..`, a hidden file) is
    /// dropped: a tampered manifest cannot make the fetcher read or hash a file elsewhere.
    pub fn load(dir: &Path) -> Manifest {
        let mut manifest: Manifest = match std::fs::read(dir.join(MANIFEST)) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("ignoring an unreadable {MANIFEST}: {e}");
                Manifest::default()
            }),
            Err(_) => Manifest::default(),
        };
        manifest.images.retain(|url, stored| {
            let plain = Path::new(&stored.file_name)
                .file_name()
                .is_some_and(|n| n == stored.file_name.as_str())
                && !stored.file_name.starts_with('.')
                && !stored.file_name.contains(['/', '\\']);
            if !plain {
                tracing::warn!(
                    "ignoring the {MANIFEST} entry of {url}: {:?} is not a file name in the \
                     images folder",
                    stored.file_name
                );
            }
            plain
        });
        manifest
    }

    /// Writes it atomically.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        rocket_dag::fs::write_atomically(&dir.join(MANIFEST), &bytes)
    }

    pub(super) fn by_sha(&self, sha: &str) -> Option<&StoredImage> {
        self.images.values().find(|s| s.sha256 == sha)
    }
}

impl Fetcher {
    /// The stored copy of `url`, if the manifest has one whose file is still there, with the
    /// right size and SHA-256 (a damaged file is downloaded again).
    pub(super) async fn present(&self, url: &str) -> Option<StoredImage> {
        let stored = self
            .manifest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .images
            .get(url)
            .cloned()?;
        let path = self.dir.join(&stored.file_name);
        let expected = stored.clone();
        let checked = tokio::task::spawn_blocking(move || intact(&path, &expected))
            .await
            .ok()
            .flatten();
        match checked {
            None => {
                tracing::warn!(%url, file = %stored.file_name, "stored picture missing or damaged: downloading it again");
                None
            }
            Some(mtime) if stored.mtime_ns != trustworthy(mtime) => {
                let stored = StoredImage {
                    mtime_ns: trustworthy(mtime),
                    ..stored
                };
                self.remember(url, stored.clone());
                Some(stored)
            }
            Some(_) => Some(stored),
        }
    }

    /// Records that `url` is stored as `stored`.
    pub(super) fn remember(&self, url: &str, stored: StoredImage) {
        self.manifest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .images
            .insert(url.to_owned(), stored);
    }
}

/// The modification time of the file at `path` if it is the `expected` copy (blocking).
///
/// Same size and modification time as when it was last hashed (and that time was already old
/// then): intact without reading it. Otherwise the bytes are hashed (a copy touched but
/// unchanged stays; a damaged one is downloaded again).
fn intact(path: &Path, expected: &StoredImage) -> Option<i128> {
    use sha2::Digest;
    let (size, mtime) = stat(path)?;
    if size != expected.bytes {
        return None;
    }
    if expected.mtime_ns == Some(mtime) {
        return Some(mtime);
    }
    let bytes = std::fs::read(path).ok()?;
    (bytes.len() as u64 == expected.bytes
        && crate::images::hex(&sha2::Sha256::digest(&bytes)) == expected.sha256)
        .then_some(mtime)
}

#[cfg(test)]
mod load_tests {
    use super::*;

    #[test]
    fn a_tampered_manifest_names_nothing_outside_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |name: &str| StoredImage {
            file_name: name.to_owned(),
            sha256: "00".into(),
            bytes: 1,
            etag: None,
            last_modified: None,
            mtime_ns: None,
        };
        let mut m = Manifest::default();
        for (i, name) in [
            "ok-1234.png",
            "../../etc/passwd",
            "/etc/passwd",
            "sub/dir.png",
            "..",
            ".manifest.json",
            "a\\b.png",
        ]
        .iter()
        .enumerate()
        {
            m.images.insert(format!("https://x/{i}"), entry(name));
        }
        m.save(dir.path()).unwrap();
        let loaded = Manifest::load(dir.path());
        let names: Vec<&str> = loaded
            .images
            .values()
            .map(|s| s.file_name.as_str())
            .collect();
        assert_eq!(names, ["ok-1234.png"]);
    }
}
