//! `/health` and `/version`.
//!
//! The scheduler of a home holds `<home>/scheduler.lock` (an exclusive `flock`) while it runs,
//! so it is healthy when this process runs one or when the kernel lists that lock as held.
//! Probing by taking the lock would make a scheduler starting at that moment refuse to start,
//! so the lock is only looked up (in `/proc/locks`, on Linux).

use axum::extract::State;
use chrono::Utc;
use serde_json::json;

use super::{ApiResult, iso};
use crate::web::{AppState, Shared};

/// `GET /health`: Airflow's `HealthInfo`.
pub(super) async fn health(State(state): State<AppState>) -> ApiResult {
    let database = match state.store.is_paused("health-check").await {
        Ok(_) => "healthy",
        Err(e) => {
            tracing::warn!("health check: the run history does not answer: {e}");
            "unhealthy"
        }
    };
    let scheduler = scheduler_runs(&state);
    // There is no heartbeat table: a scheduler seen alive now has, in effect, just beaten.
    let heartbeat = scheduler.then(|| iso(Utc::now()));
    Ok(super::json(json!({
        "metadatabase": { "status": database },
        "scheduler": {
            "status": if scheduler { "healthy" } else { "unhealthy" },
            "latest_scheduler_heartbeat": heartbeat,
        },
        "triggerer": { "status": null, "latest_triggerer_heartbeat": null },
        "dag_processor": { "status": null, "latest_dag_processor_heartbeat": null },
    })))
}

/// `GET /version`.
pub(super) async fn version() -> ApiResult {
    Ok(super::json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "git_version": option_env!("ROCKET_DAG_GIT_VERSION"),
    })))
}

/// Whether a scheduler runs on this server's home.
fn scheduler_runs(state: &Shared) -> bool {
    state.with_scheduler || lock_is_held(&state.home.join("scheduler.lock"))
}

/// Whether `/proc/locks` lists a lock on `file`.
fn lock_is_held(file: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(file) else {
        return false;
    };
    let Ok(locks) = std::fs::read_to_string("/proc/locks") else {
        return false;
    };
    let dev = meta.dev();
    let id = format!(
        "{:02x}:{:02x}:{}",
        nix::sys::stat::major(dev),
        nix::sys::stat::minor(dev),
        meta.ino()
    );
    locks
        .lines()
        .any(|line| line.split_whitespace().any(|field| field == id) && line.contains("FLOCK"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_held_lock_is_seen_and_a_free_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scheduler.lock");
        assert!(!super::lock_is_held(&path));
        let file = std::fs::File::create(&path).unwrap();
        assert!(!super::lock_is_held(&path));
        let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| e)
            .unwrap();
        if std::path::Path::new("/proc/locks").exists() {
            assert!(super::lock_is_held(&path));
        }
        drop(lock);
        assert!(!super::lock_is_held(&path));
    }
}
