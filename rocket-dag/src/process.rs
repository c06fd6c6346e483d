//! This process and its children: the host it runs on, and child processes that must not
//! outlive their purpose (shell tasks, notification commands, the headless browser), each in
//! its own process group so its children go with it.

use std::sync::OnceLock;

/// The variable holding the web server's API token (the web module's `TOKEN_ENV`). Children
/// (shell tasks, notification commands, the browser) never get it: a task that prints its
/// environment would put it in a log the web UI serves.
pub(crate) const API_TOKEN_ENV: &str = "ROCKET_DAG_API_TOKEN";

/// Kills a process group (SIGKILL) when dropped while armed: at a timeout, on cancellation,
/// or when the caller gives up waiting. [`GroupGuard::disarm`] once the process has ended.
#[derive(Debug)]
pub(crate) struct GroupGuard(Option<i32>);

impl GroupGuard {
    /// Guards the group led by `pid` (a child spawned with `process_group(0)`); `None` (the
    /// child already ended) guards nothing.
    pub(crate) fn new(pid: Option<u32>) -> GroupGuard {
        GroupGuard(pid.and_then(|p| i32::try_from(p).ok()))
    }

    /// The process ended by itself: leave its group alone.
    pub(crate) fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// This host's name (`localhost` if it cannot be read), as the run history records it.
pub(crate) fn hostname() -> String {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".to_owned())
    })
    .clone()
}
