//! Headless Chromium: find it, print a page to PDF, run it with a time limit.
//!
//! The report prints to PDF from any browser; `report --pdf` drives Chromium (or Google
//! Chrome) so it happens in one command. The browser runs in its own process group with a
//! fresh profile, and the group is killed when it is done or too slow (its helper processes
//! would otherwise outlive it).

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::GroupGuard;

/// How long [`print_pdf`] waits for the browser.
pub const PDF_TIMEOUT: Duration = Duration::from_secs(60);

/// Why [`print_pdf`] made no PDF.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// No browser to print with.
    #[error(
        "--pdf needs Chromium or Google Chrome: install Debian's `chromium` package (apt-get install chromium) or set ROCKET_DAG_CHROMIUM to the browser binary; the HTML report at {} prints to PDF from any browser",
        html.display()
    )]
    NoChromium {
        /// The HTML report, which any browser prints.
        html: PathBuf,
    },
    /// The browser ran and no PDF came out.
    #[error("the browser made no PDF ({status}): {stderr}")]
    Failed {
        /// How it ended (exit status, or a timeout).
        status: String,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// A file could not be read or written, or the browser not started.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The browser [`print_pdf`] uses: `$ROCKET_DAG_CHROMIUM` (a path, or a name on `PATH`), else
/// the first of `chromium`, `chromium-browser`, `google-chrome`, `google-chrome-stable` on
/// `PATH`.
pub fn find() -> Option<PathBuf> {
    if let Some(v) = std::env::var_os("ROCKET_DAG_CHROMIUM").filter(|v| !v.is_empty()) {
        return resolve_program(Path::new(&v));
    }
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .find_map(|n| resolve_program(Path::new(n)))
}

fn resolve_program(p: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let runnable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if p.components().count() > 1 {
        return runnable(p).then(|| p.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(p))
        .find(|c| runnable(c))
}

/// `file://` URL of an absolute path (bytes outside the unreserved set percent-encoded).
pub fn file_url(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let mut out = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Runs `program args…` in its own process group, killing the group after `timeout`.
/// Returns the exit status (`None` on timeout), stdout and stderr.
pub fn run_with_timeout(
    program: &Path,
    args: &[String],
    timeout: Duration,
) -> std::io::Result<(Option<std::process::ExitStatus>, Vec<u8>, Vec<u8>)> {
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new(program)
        .env_remove(crate::process::API_TOKEN_ENV)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as _));
    let mut group = GroupGuard::new(Some(child.id()));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if Instant::now() >= deadline {
            drop(group);
            let _ = child.kill();
            let _ = child.wait();
            group = GroupGuard::new(None);
            break None;
        }
        std::thread::sleep(Duration::from_millis(25));
    };
    // The browser's helpers may outlive it holding the pipes: the guard ends the group.
    drop(group);
    Ok((
        status,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    ))
}

/// The headless-browser flags every invocation uses, with a fresh profile in `profile`.
pub fn headless_args(profile: &Path) -> Vec<String> {
    vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        "--disable-extensions".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-default-apps".to_owned(),
        "--disable-breakpad".to_owned(),
        "--disable-domain-reliability".to_owned(),
        "--disable-client-side-phishing-detection".to_owned(),
        "--metrics-recording-only".to_owned(),
        "--no-pings".to_owned(),
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ]
}

fn tail(bytes: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    if start > 0 {
        format!("…{}", &s[start..])
    } else {
        s.to_owned()
    }
}

/// Prints the HTML page `html` to `pdf` (A4, no header or footer) with headless Chromium
/// ([`find`]); the PDF is written under a temporary name and renamed into place.
pub fn print_pdf(html: &Path, pdf: &Path) -> Result<(), PdfError> {
    let io = |what: String| move |source| PdfError::Io { what, source };
    let browser = find().ok_or_else(|| PdfError::NoChromium {
        html: html.to_path_buf(),
    })?;
    let html_abs =
        std::path::absolute(html).map_err(io(format!("cannot resolve {}", html.display())))?;
    if !html_abs.is_file() {
        return Err(PdfError::Io {
            what: format!("cannot read {}", html_abs.display()),
            source: std::io::ErrorKind::NotFound.into(),
        });
    }
    let pdf_abs =
        std::path::absolute(pdf).map_err(io(format!("cannot resolve {}", pdf.display())))?;
    let dir = pdf_abs.parent().unwrap_or(Path::new("/")).to_path_buf();
    let name = pdf_abs
        .file_name()
        .map_or_else(|| "report.pdf".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let profile = tempfile::Builder::new()
        .prefix("rocket-dag-chromium-")
        .tempdir()
        .map_err(io("cannot create a browser profile directory".to_owned()))?;
    let mut args = headless_args(profile.path());
    args.extend([
        "--no-pdf-header-footer".to_owned(),
        "--print-to-pdf-no-header".to_owned(),
        format!("--print-to-pdf={}", tmp.display()),
        file_url(&html_abs),
    ]);
    let ran = run_with_timeout(&browser, &args, PDF_TIMEOUT)
        .map_err(io(format!("cannot run {}", browser.display())));
    let result = ran.and_then(|(status, _out, err)| {
        let failed = |status: String| PdfError::Failed {
            status,
            stderr: tail(&err, 2000),
        };
        match status {
            None => Err(failed(format!(
                "no answer in {}s, stopped",
                PDF_TIMEOUT.as_secs()
            ))),
            Some(s) if !s.success() => Err(failed(s.to_string())),
            Some(_) => {
                let mut head = [0u8; 4];
                let ok = std::fs::File::open(&tmp)
                    .and_then(|mut f| f.read_exact(&mut head))
                    .is_ok()
                    && &head == b"%PDF";
                if !ok {
                    return Err(failed("exit status 0, but no PDF was written".to_owned()));
                }
                std::fs::rename(&tmp, &pdf_abs)
                    .map_err(io(format!("cannot write {}", pdf_abs.display())))
            }
        }
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_messages() {
        assert_eq!(
            file_url(Path::new("/tmp/a b/r+é.html")),
            "file:///tmp/a%20b/r%2B%C3%A9.html"
        );
        let e = PdfError::NoChromium {
            html: "/tmp/report.html".into(),
        };
        let msg = e.to_string();
        assert!(msg.starts_with("--pdf needs Chromium or Google Chrome"));
        assert!(msg.contains("apt-get install chromium"));
        assert!(msg.contains("ROCKET_DAG_CHROMIUM"));
        assert!(msg.contains("/tmp/report.html prints to PDF from any browser"));
    }

    #[test]
    fn a_slow_program_is_stopped_with_its_children() {
        let started = Instant::now();
        let (status, out, _) = run_with_timeout(
            Path::new("/bin/sh"),
            &[
                "-c".to_owned(),
                "sleep 30 & echo started; sleep 30".to_owned(),
            ],
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(status.is_none(), "timed out");
        assert_eq!(String::from_utf8_lossy(&out).trim(), "started");
        // The background `sleep` held stdout open: returning at all shows the group died.
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
