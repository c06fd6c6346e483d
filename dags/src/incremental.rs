//! Incremental processing of a launch list: what is new, changed or gone since the last
//! successful run, decided against a state that lives in a file (so it survives restarts) and
//! is replaced only when a run's work is done.
//!
//! A launch is *changed* when LL2's `last_updated` moved or when what the pipeline keeps of it
//! (its fingerprint: a SHA-256 of the launch as parsed) differs — so feeds without
//! `last_updated` (API 2.0.0) are compared too. *Gone* launches are in the state but no
//! longer listed (launched, or dropped from "upcoming").

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ll2::Launch;
use crate::reports::Percentiles;

/// Where the state lives, relative to the DAG's data folder.
pub const STATE_FILE: &str = "state/launches.json";
/// The state's format version.
const STATE_VERSION: u32 = 1;

/// What the last successful run knew of each launch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Known {
    /// Display name.
    pub name: String,
    /// SHA-256 of the launch as parsed, hex.
    pub fingerprint: String,
    /// LL2's `last_updated`, when sent.
    pub last_updated: Option<DateTime<Utc>>,
    /// NET.
    pub net: Option<DateTime<Utc>>,
    /// Status name.
    pub status: Option<String>,
    /// Picture URL.
    pub image_url: Option<String>,
    /// When a run first saw it.
    pub first_seen: DateTime<Utc>,
}

/// The state a successful run leaves for the next one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// Format version.
    pub version: u32,
    /// The run that wrote it.
    pub run_id: Option<String>,
    /// When that run fetched the launches.
    pub synced_at: Option<DateTime<Utc>>,
    /// The latest `last_updated` seen (a watermark for `last_updated__gte` queries).
    pub watermark: Option<DateTime<Utc>>,
    /// Every launch listed then, by id.
    pub launches: BTreeMap<String, Known>,
}

/// The state file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the incremental state {}: {cause} (it is left as it is; move it away to start over: the next run then treats every launch as new)", path.display())]
pub struct StateError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub cause: String,
}

impl SyncState {
    /// The state in `path`; empty when there is none yet.
    ///
    /// # Errors
    ///
    /// [`StateError`] when the file exists but cannot be read or is not a state (a corrupt
    /// file is never replaced silently).
    pub fn load(path: &Path) -> Result<SyncState, StateError> {
        let err = |cause: String| StateError {
            path: path.to_owned(),
            cause,
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SyncState::default()),
            Err(e) => return Err(err(e.to_string())),
        };
        let state: SyncState =
            serde_json::from_slice(&bytes).map_err(|e| err(format!("not a state file: {e}")))?;
        if state.version != STATE_VERSION {
            return Err(err(format!(
                "format version {} (this build reads {STATE_VERSION})",
                state.version
            )));
        }
        Ok(state)
    }

    /// Writes the state to `path` atomically (a reader sees the old state or the new one).
    ///
    /// # Errors
    ///
    /// The I/O error.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        rocket_dag::fs::write_atomically(path, &bytes)
    }
}

/// The fingerprint of a launch as parsed: SHA-256 of its JSON, hex.
pub fn fingerprint(launch: &Launch) -> String {
    let json = serde_json::to_vec(launch).unwrap_or_default();
    Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What happened to a launch since the last successful run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Not known before.
    New,
    /// Known, and different now.
    Changed,
    /// Known and the same.
    Unchanged,
    /// Known, and no longer listed.
    Gone,
}

impl ChangeKind {
    /// `new`, `changed`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::New => "new",
            ChangeKind::Changed => "changed",
            ChangeKind::Unchanged => "unchanged",
            ChangeKind::Gone => "gone",
        }
    }
}

/// One launch that is new, changed or gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Launch id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What happened.
    pub kind: ChangeKind,
    /// For a changed launch, what changed: `net`, `status`, `image`, `name`, `last_updated`,
    /// or `other` (another kept field).
    pub fields: Vec<String>,
    /// LL2's `last_updated` now (gone: as last known).
    pub last_updated: Option<DateTime<Utc>>,
    /// Hours from `last_updated` to this run's fetch: how old the data was when fetched.
    pub age_hours: Option<f64>,
    /// For a change made after the previous sync: hours from the change (`last_updated`) to
    /// this fetch — how long the update waited for a run.
    pub pickup_hours: Option<f64>,
}

/// What a run found, against the state of the last successful run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    /// When this run fetched the launches.
    pub fetched_at: DateTime<Utc>,
    /// When the last successful run fetched them (none on the first run).
    pub previous_sync: Option<DateTime<Utc>>,
    /// Hours between the two fetches.
    pub hours_since_sync: Option<f64>,
    /// Launches listed now.
    pub listed: usize,
    /// New launches.
    pub new: usize,
    /// Changed launches.
    pub changed: usize,
    /// Unchanged launches.
    pub unchanged: usize,
    /// Launches gone from the list.
    pub gone: usize,
    /// Every new, changed and gone launch: new and changed in list order, then gone by id.
    pub changes: Vec<Change>,
    /// Age of the data when fetched (hours since `last_updated`) over the new and changed
    /// launches that send it.
    pub age_hours: Percentiles,
    /// Hours each update made since the previous sync waited for this run.
    pub pickup_hours: Percentiles,
    /// New and changed launches without `last_updated` (age unknown).
    pub unknown_age: usize,
}

impl Changes {
    /// Whether a launch is new or changed (what this run processes).
    pub fn to_process(&self) -> BTreeSet<&str> {
        self.changes
            .iter()
            .filter(|c| matches!(c.kind, ChangeKind::New | ChangeKind::Changed))
            .map(|c| c.id.as_str())
            .collect()
    }
}

fn hours(later: DateTime<Utc>, earlier: DateTime<Utc>) -> f64 {
    (later - earlier).num_milliseconds() as f64 / 3_600_000.0
}

/// Compares `launches` (fetched at `fetched_at`) with `previous`: the changes, and the state
/// to commit once the run's work is done (every listed launch, as now).
pub fn diff(
    previous: &SyncState,
    launches: &[Launch],
    fetched_at: DateTime<Utc>,
    run_id: &str,
) -> (Changes, SyncState) {
    let mut next = SyncState {
        version: STATE_VERSION,
        run_id: Some(run_id.to_owned()),
        synced_at: Some(fetched_at),
        watermark: previous.watermark,
        launches: BTreeMap::new(),
    };
    let mut changes = Vec::new();
    let (mut new, mut changed, mut unchanged) = (0, 0, 0);
    let mut ages = Vec::new();
    let mut pickups = Vec::new();
    let mut unknown_age = 0;
    for l in launches {
        // The same id twice in one list: the first counts.
        if next.launches.contains_key(&l.id) {
            continue;
        }
        let print = fingerprint(l);
        let before = previous.launches.get(&l.id);
        let kind = match before {
            None => ChangeKind::New,
            Some(k)
                if k.fingerprint == print
                    && (k.last_updated.is_none()
                        || l.last_updated.is_none()
                        || k.last_updated == l.last_updated) =>
            {
                ChangeKind::Unchanged
            }
            Some(_) => ChangeKind::Changed,
        };
        next.launches.insert(
            l.id.clone(),
            Known {
                name: l.name.clone(),
                fingerprint: print,
                last_updated: l.last_updated,
                net: l.net,
                status: l.status.clone(),
                image_url: l.image_url.clone(),
                first_seen: before.map_or(fetched_at, |k| k.first_seen),
            },
        );
        if let Some(t) = l.last_updated {
            next.watermark = next.watermark.max(Some(t));
        }
        if kind == ChangeKind::Unchanged {
            unchanged += 1;
            continue;
        }
        if kind == ChangeKind::New {
            new += 1;
        } else {
            changed += 1;
        }
        let age = l.last_updated.map(|t| hours(fetched_at, t));
        match age {
            Some(a) => ages.push(a),
            None => unknown_age += 1,
        }
        let pickup = match (l.last_updated, previous.synced_at) {
            (Some(t), Some(sync)) if t > sync => Some(hours(fetched_at, t)),
            _ => None,
        };
        pickups.extend(pickup);
        changes.push(Change {
            id: l.id.clone(),
            name: l.name.clone(),
            kind,
            fields: before.map(|k| changed_fields(k, l)).unwrap_or_default(),
            last_updated: l.last_updated,
            age_hours: age,
            pickup_hours: pickup,
        });
    }
    let mut gone = 0;
    for (id, k) in &previous.launches {
        if !next.launches.contains_key(id) {
            gone += 1;
            changes.push(Change {
                id: id.clone(),
                name: k.name.clone(),
                kind: ChangeKind::Gone,
                fields: Vec::new(),
                last_updated: k.last_updated,
                age_hours: None,
                pickup_hours: None,
            });
        }
    }
    let report = Changes {
        fetched_at,
        previous_sync: previous.synced_at,
        hours_since_sync: previous.synced_at.map(|s| hours(fetched_at, s)),
        listed: next.launches.len(),
        new,
        changed,
        unchanged,
        gone,
        changes,
        age_hours: Percentiles::of(ages),
        pickup_hours: Percentiles::of(pickups),
        unknown_age,
    };
    (report, next)
}

/// Which kept fields differ between what was known and the launch now.
fn changed_fields(k: &Known, l: &Launch) -> Vec<String> {
    let mut fields = Vec::new();
    if k.net != l.net {
        fields.push("net");
    }
    if k.status != l.status {
        fields.push("status");
    }
    if k.image_url != l.image_url {
        fields.push("image");
    }
    if k.name != l.name {
        fields.push("name");
    }
    if k.last_updated != l.last_updated {
        fields.push("last_updated");
    }
    if fields.is_empty() {
        fields.push("other");
    }
    fields.into_iter().map(str::to_owned).collect()
}

/// The state to commit after a run: `next`, except that a new or changed launch whose
/// picture failed keeps what was known before (or stays unknown), so the next run processes
/// it again.
pub fn commit(previous: &SyncState, mut next: SyncState, failed: &BTreeSet<String>) -> SyncState {
    for id in failed {
        match previous.launches.get(id) {
            Some(k) => {
                next.launches.insert(id.clone(), k.clone());
            }
            None => {
                next.launches.remove(id);
            }
        }
    }
    next
}

#[cfg(test)]
mod tests;
