//! `rocket_incremental`: the launch list processed incrementally, every hour. Each run fetches
//! the upcoming launches, compares them with the state the last successful run left
//! (`state/launches.json` in the DAG's data folder; see [`crate::incremental`]), fetches the
//! pictures of the new and changed launches only, writes what changed and how old the data
//! was, and only then commits the new state — so a run that fails or is killed leaves the
//! state as it was, and the next run processes the same changes again.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::Utc;
use rocket_dag::prelude::*;
use serde::{Deserialize, Serialize};

use crate::assets::*;
use crate::incremental::{Changes, STATE_FILE, SyncState, commit, diff};
use crate::ll2::Launch;
use crate::record::{ImageRecord, Outcome};
use crate::rocket_launches::{Launches, fetch_launches, fetch_pictures, reports_dir};

/// What `detect_changes` found, and what to commit when the run's work is done.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sync {
    /// The changes and the data's age.
    pub changes: Changes,
    /// The new and changed launches: what this run processes.
    pub to_process: Vec<Launch>,
    /// The state before this run.
    pub previous: SyncState,
    /// The state after it, once committed.
    pub next: SyncState,
    /// Where the changes report was written.
    pub report_dir: PathBuf,
}

fn state_path(ctx: &TaskContext) -> PathBuf {
    ctx.data_dir().join(STATE_FILE)
}

/// Compare the launches with the last successful run's state: new, changed, unchanged, gone;
/// write `changes.json`, `changes.csv` and `changes.md` into the run's reports folder.
#[task(
    layer = "storage",
    reads = [LAUNCHES_JSON, SYNC_STATE],
    writes = [REPORTS]
)]
pub async fn detect_changes(ctx: &TaskContext, launches: Launches) -> Result<Sync, TaskError> {
    let path = state_path(ctx);
    // A corrupt state is an error naming the file, never silently replaced: the next commit
    // would otherwise forget what was processed.
    let previous = SyncState::load(&path).map_err(|e| TaskError::fail_now(e.to_string()))?;
    let (changes, next) = diff(&previous, &launches.launches, Utc::now(), ctx.run_id());
    let process = changes.to_process();
    let to_process: Vec<Launch> = launches
        .launches
        .into_iter()
        .filter(|l| process.contains(l.id.as_str()))
        .collect();
    let dir = reports_dir(ctx);
    let (report, out) = (changes.clone(), dir.clone());
    tokio::task::spawn_blocking(move || crate::reports::changes::write(&report, &out))
        .await
        .map_err(|e| TaskError::msg(format!("the report writer stopped: {e}")))?
        .with_context(|| format!("writing the changes report into {}", dir.display()))?;
    tracing::info!(
        new = changes.new,
        changed = changes.changed,
        unchanged = changes.unchanged,
        gone = changes.gone,
        "compared with the last successful run"
    );
    Ok(Sync {
        changes,
        to_process,
        previous,
        next,
        report_dir: dir,
    })
}

/// Fetch the pictures of the new and changed launches only.
#[task(
    execution_timeout = "30m",
    layer = "storage",
    reads = [IMAGE_HOSTS, IMAGE_MANIFEST],
    writes = [IMAGES, IMAGE_MANIFEST]
)]
pub async fn fetch_changed_images(
    ctx: &TaskContext,
    sync: Sync,
) -> Result<Vec<ImageRecord>, TaskError> {
    let records = fetch_pictures(ctx, &sync.to_process).await;
    Ok(records)
}

/// Commit the state for the next run: every launch as listed now, except those whose picture
/// failed (they are processed again next time). Written atomically, only when the run got here,
/// and never over a state another run committed after `detect_changes` read it.
#[task(layer = "storage", writes = [SYNC_STATE])]
pub async fn commit_state(
    ctx: &TaskContext,
    sync: Sync,
    images: Vec<ImageRecord>,
) -> Result<usize, TaskError> {
    // A picture shared by several launches is fetched for one of them (the others' records
    // say `duplicate_url`): every launch with the picture URL of a failed one is held back.
    let mut failed: BTreeSet<String> = images
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .map(|r| r.launch_id.clone())
        .collect();
    let failed_urls: BTreeSet<&str> = sync
        .to_process
        .iter()
        .filter(|l| failed.contains(&l.id))
        .filter_map(|l| l.image_url.as_deref())
        .collect();
    failed.extend(
        sync.to_process
            .iter()
            .filter(|l| {
                l.image_url
                    .as_deref()
                    .is_some_and(|u| failed_urls.contains(u))
            })
            .map(|l| l.id.clone()),
    );
    let path = state_path(ctx);
    // Another run (a `dags test` beside the scheduler, say) may have committed meanwhile:
    // committing over it would forget what it processed.
    let now = SyncState::load(&path).map_err(|e| TaskError::fail_now(e.to_string()))?;
    if now != sync.previous {
        return Err(TaskError::fail_now(format!(
            "the state {} changed since detect_changes read it (run `{}` committed meanwhile): \
             not committing over it; the next run compares again",
            path.display(),
            now.run_id.as_deref().unwrap_or("?")
        )));
    }
    let state = commit(&sync.previous, sync.next, &failed);
    let n = state.launches.len();
    let p = path.clone();
    tokio::task::spawn_blocking(move || state.save(&p))
        .await
        .map_err(|e| TaskError::msg(format!("the state writer stopped: {e}")))?
        .with_context(|| format!("writing the state {}", path.display()))?;
    if !failed.is_empty() {
        tracing::warn!(
            launches = failed.len(),
            "pictures failed: these launches are processed again next run"
        );
    }
    tracing::info!(launches = n, path = %path.display(), "state committed");
    Ok(n)
}

/// The upcoming launches processed incrementally, hourly: only what is new or changed since
/// the last successful run is processed, against a state kept in a file.
///
/// | task | does | layer |
/// |---|---|---|
/// | `fetch_launches` | fetches the upcoming launches, stores `launches.json` | source |
/// | `detect_changes` | compares them with the last successful run's state; writes `changes.md` | storage |
/// | `fetch_changed_images` | downloads the pictures of the new and changed launches | storage |
/// | `commit_state` | saves the state for the next run, once the work is done | storage |
#[dag(
    schedule = "@hourly",
    start_date = "2024-01-01",
    catchup = false,
    max_active_runs = 1,
    tags = ["rocket", "incremental"]
)]
pub fn rocket_incremental() {
    let launches = fetch_launches();
    let sync = detect_changes(launches);
    let images = fetch_changed_images(sync);
    commit_state(sync, images);
}
