//! The `.part` file: a hidden temporary file beside an image's final name, renamed into place
//! when complete and removed otherwise.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncWriteExt, BufWriter};

/// A temporary file beside the final one, removed when dropped unless persisted.
pub(crate) struct PartFile {
    path: PathBuf,
    writer: Option<BufWriter<tokio::fs::File>>,
}

/// Creates `dir` if missing, then removes the `.part` files a killed run left in it.
pub(crate) async fn prepare_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let swept = dir.to_owned();
    let _ = tokio::task::spawn_blocking(move || rocket_dag::fs::sweep_stale_temps(&swept)).await;
    Ok(())
}

impl PartFile {
    /// A new part file holding `bytes`, written and closed (blocking).
    pub(super) fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<Self> {
        let mut part = Self::create_std(dir, name)?;
        let result = std::io::Write::write_all(&mut part.1, bytes);
        drop(part.1);
        // On error, dropping the PartFile removes the file.
        result.map(|()| part.0)
    }

    pub(super) fn create(dir: &Path, name: &str) -> std::io::Result<Self> {
        let (mut part, file) = Self::create_std(dir, name)?;
        part.writer = Some(BufWriter::with_capacity(
            64 * 1024,
            tokio::fs::File::from_std(file),
        ));
        Ok(part)
    }

    /// Creates the file under a fresh hidden name; the `PartFile` (without a writer yet) and
    /// the open file.
    fn create_std(dir: &Path, name: &str) -> std::io::Result<(Self, std::fs::File)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("{}{n}.part", rocket_dag::fs::temp_prefix(name)));
            // Created synchronously so that the file exists (and will be cleaned up) before
            // this future can be cancelled; `create_new` never clobbers another writer's file.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => return Ok((Self { path, writer: None }, file)),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(err),
            }
        }
    }

    pub(super) async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match &mut self.writer {
            Some(writer) => writer.write_all(data).await,
            None => Err(std::io::Error::other("part file already closed")),
        }
    }

    /// Flushes and closes the file (it stays where it is).
    pub(super) async fn finish(&mut self) -> std::io::Result<()> {
        if let Some(mut writer) = self.writer.take() {
            writer.flush().await?;
            writer.into_inner().into_std().await;
        }
        Ok(())
    }

    /// Where the file is.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, closes and renames the file to `to`, replacing any file there.
    pub(crate) async fn persist(mut self, to: &Path) -> std::io::Result<()> {
        self.finish().await?;
        tokio::fs::rename(&self.path, to).await?;
        // Renamed: nothing left to clean up.
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        // Close before removing (Windows cannot delete an open file).
        drop(self.writer.take());
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
