//! Where rocket-dag keeps its files: `<home>/logs/` and `<home>/data/`.

use std::path::PathBuf;

/// The environment variable that sets the home directory.
pub const HOME_ENV: &str = "ROCKET_DAG_HOME";

/// `$ROCKET_DAG_HOME` if set, else `.rocket-dag` in the current directory (so a course project
/// keeps its logs and data next to its code, ready to export).
pub fn default_home() -> PathBuf {
    match std::env::var_os(HOME_ENV) {
        Some(h) if !h.is_empty() => PathBuf::from(h),
        _ => PathBuf::from(".rocket-dag"),
    }
}
