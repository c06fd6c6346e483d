//! Writing files so that readers never see half of one, and sweeping what a killed writer
//! left behind.
//!
//! A file is written under a hidden temporary name in its final folder, then renamed. The
//! temporary name says who wrote it: `.<name>.<pid>.<unique>.tmp` (or `.part` for downloads,
//! see [`temp_prefix`]). A process killed mid-write (`kill -9`, power loss) leaves that file
//! behind; [`sweep_stale_temps`] removes it the next time the folder is written, once its
//! writer is gone.

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The start of a temporary name for `name` written by this process: `.<name>.<pid>.`. Add a
/// unique part and `.tmp` or `.part`.
pub fn temp_prefix(name: &str) -> String {
    format!(".{name}.{}.", std::process::id())
}

/// Writes `bytes` to `path` through a hidden temporary file in the same folder
/// (`.<name>.<pid>.XXXXXX.tmp`), flushed to disk and renamed over `path`: readers and a crash
/// see the old file or the new one, never a part; the temporary file is removed if anything
/// fails before the rename, and what killed writers left in the folder is swept first. Creates
/// the parent folders. The file is `0644` less the umask (a temporary file would be private),
/// as files meant to be read and exported are.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically_with_mode(path, bytes, 0o644)
}

/// [`write_atomically`] with the file's permission bits (`0o600` for a secret: the file is
/// never readable by others, not even for a moment).
pub fn write_atomically_with_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    sweep_stale_temps(dir);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(name))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Removes the temporary files in `dir` (named as [`temp_prefix`] makes them, ending in `.tmp`
/// or `.part`) whose writer is gone: its pid no longer exists here, and the file is older than
/// this process (a pid can be reused; a file this process may be writing is never touched).
/// Best effort: what cannot be read or removed stays. Returns how many were removed.
pub fn sweep_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let started = process_start();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(writer_pid) else {
            continue;
        };
        if pid == std::process::id() || pid_alive(pid) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| started.is_none_or(|s| t < s));
        if old && std::fs::remove_file(entry.path()).is_ok() {
            tracing::info!(
                "removed {}, left by process {pid} that stopped mid-write",
                entry.path().display()
            );
            removed += 1;
        }
    }
    removed
}

/// The pid in a temporary name `.<name>.<pid>.<unique>.(tmp|part)`.
fn writer_pid(file: &str) -> Option<u32> {
    let rest = file.strip_prefix('.')?;
    let stem = rest
        .strip_suffix(".tmp")
        .or_else(|| rest.strip_suffix(".part"))?;
    let (before, _unique) = stem.rsplit_once('.')?;
    let (_name, pid) = before.rsplit_once('.')?;
    pid.parse().ok()
}

fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

/// When this process started (from `/proc/self`), if known.
fn process_start() -> Option<std::time::SystemTime> {
    std::fs::metadata("/proc/self")
        .and_then(|m| m.modified())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.txt");
        super::write_atomically(&p, b"one").unwrap();
        super::write_atomically(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        // 0644 less what the umask takes away (it is respected, as by any new file).
        let umask = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("Umask:"))?.to_owned();
                u32::from_str_radix(line.split_whitespace().nth(1)?, 8).ok()
            })
            .unwrap_or(0o022);
        assert_eq!(mode & 0o777, 0o644 & !umask);
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn names_carry_their_writer() {
        assert_eq!(writer_pid(".launches.json.4242.aB3xYz.tmp"), Some(4242));
        assert_eq!(writer_pid(".a.b.2024.png.77.3.part"), Some(77));
        assert_eq!(writer_pid("launches.json"), None);
        assert_eq!(writer_pid(".hidden"), None);
        assert_eq!(writer_pid(".x.notapid.1.tmp"), None);
    }

    #[test]
    fn what_a_killed_writer_left_is_swept_at_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        // A process that is gone: spawn one and wait for it.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let left = dir.path().join(format!(".report.md.{dead}.Xy12Ab.tmp"));
        let part = dir.path().join(format!(".img.png.{dead}.7.part"));
        let live = dir
            .path()
            .join(format!(".img.png.{}.8.part", std::process::id()));
        let other = dir.path().join(".keep.me.tmp");
        for f in [&left, &part, &live, &other] {
            std::fs::write(f, b"half").unwrap();
        }
        // Dated before this process started, as a killed writer's files are.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600 * 24 * 365);
        for f in [&left, &part] {
            std::fs::File::options()
                .write(true)
                .open(f)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        super::write_atomically(&dir.path().join("report.md"), b"whole").unwrap();
        assert!(
            !left.exists() && !part.exists(),
            "the dead writer's files are gone"
        );
        assert!(live.exists(), "this process's own file stays");
        assert!(other.exists(), "a file not named by a writer stays");
    }
}
