//! Retention: old pictures moved into a `.tar.gz` archive, then removed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Manifest;

/// What [`archive_older_than`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archived {
    /// The archive written, if anything was old enough.
    pub archive: Option<PathBuf>,
    /// Files moved into it.
    pub files: Vec<String>,
}

/// Retention: moves the pictures of `dir` last modified more than `days` days before `now`
/// into `dir/archive/images-<now>.tar.gz` (written to a temporary name, then renamed), then
/// deletes them and forgets them in the manifest. Hidden files are left alone.
pub fn archive_older_than(
    dir: &Path,
    days: u32,
    now: std::time::SystemTime,
) -> std::io::Result<Archived> {
    let limit = now - Duration::from_secs(u64::from(days) * 86_400);
    let mut old = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type()?.is_file() {
            continue;
        }
        if entry.metadata()?.modified()? < limit {
            old.push(name);
        }
    }
    if old.is_empty() {
        return Ok(Archived {
            archive: None,
            files: old,
        });
    }
    old.sort();
    let archive_dir = dir.join("archive");
    std::fs::create_dir_all(&archive_dir)?;
    let stamp = chrono::DateTime::<chrono::Utc>::from(now).format("%Y%m%dT%H%M%SZ");
    let target = archive_dir.join(format!("images-{stamp}.tar.gz"));
    rocket_dag::fs::sweep_stale_temps(&archive_dir);
    let tmp = tempfile::Builder::new()
        .prefix(&rocket_dag::fs::temp_prefix(&format!(
            "images-{stamp}.tar.gz"
        )))
        .suffix(".tmp")
        .tempfile_in(&archive_dir)?;
    {
        let gz = flate2::write::GzEncoder::new(tmp.as_file(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for name in &old {
            tar.append_path_with_name(dir.join(name), name)?;
        }
        tar.into_inner()?.finish()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    // Only once the archive is in place are the originals removed.
    let mut manifest = Manifest::load(dir);
    manifest.images.retain(|_, s| !old.contains(&s.file_name));
    for name in &old {
        std::fs::remove_file(dir.join(name))?;
    }
    manifest.save(dir)?;
    Ok(Archived {
        archive: Some(target),
        files: old,
    })
}
