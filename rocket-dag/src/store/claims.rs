//! Who executes a run: one process at a time.
//!
//! A process that executes a run (`dags test`, a backfill, the scheduler) first claims it: the
//! run's row names its owner (host and pid) and a heartbeat the owner refreshes every
//! [`HEARTBEAT_EVERY`] while it runs. Another process that wants the same run is told who has
//! it ([`Claim::Busy`]) unless the owner is gone: on the same host, its pid no longer exists;
//! on any host, its heartbeat is older than [`STALE_AFTER`]. A claim is a compare-and-set on
//! the owner it read, so of two processes taking over a run at once exactly one gets it. A
//! scheduler adopts the running runs whose owner is gone ([`Store::orphaned_runs`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::records::{RUN_COLUMNS, run_from_row, to_us};
use super::{DagRunRecord, RunStateRecord, Store, StoreError};

/// How often the owner of a run refreshes its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// How old a heartbeat may get before its owner counts as gone, whatever its host (a process
/// on another machine cannot be asked whether it lives; one here can, see [`RunOwner::alive`]).
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// A process that executes runs: its host and pid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunOwner {
    /// The host name.
    pub hostname: String,
    /// The process id.
    pub pid: u32,
}

impl RunOwner {
    /// This process.
    pub fn this_process() -> RunOwner {
        RunOwner {
            hostname: crate::process::hostname(),
            pid: std::process::id(),
        }
    }

    /// Whether the process still exists, when it runs on this host (`None` on another host).
    pub fn alive(&self) -> Option<bool> {
        if self.hostname != crate::process::hostname() {
            return None;
        }
        let Ok(pid) = i32::try_from(self.pid) else {
            return Some(false);
        };
        // Signal 0 checks existence without signalling; EPERM means it exists as another user.
        Some(
            match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
                Ok(()) => true,
                Err(e) => e == nix::errno::Errno::EPERM,
            },
        )
    }
}

impl std::fmt::Display for RunOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on host {}", self.pid, self.hostname)
    }
}

/// Whether a run's owner, as recorded, no longer executes it: none is recorded, its process is
/// gone from this host, or its heartbeat stopped more than [`STALE_AFTER`] ago.
pub fn owner_gone(
    owner: Option<&RunOwner>,
    heartbeat: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    let Some(owner) = owner else {
        return true;
    };
    if owner.alive() == Some(false) {
        return true;
    }
    let stale = chrono::Duration::from_std(STALE_AFTER).unwrap_or(chrono::Duration::MAX);
    heartbeat.is_none_or(|h| now - h > stale)
}

/// The outcome of [`Store::claim_execution`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The run is this process's to execute.
    Claimed,
    /// Another live process executes it.
    Busy {
        /// Who.
        owner: RunOwner,
        /// Its last heartbeat.
        heartbeat: Option<DateTime<Utc>>,
    },
    /// Another engine schedules it (see [`Store::record_external_run`]): rocket-dag records
    /// its tries but never executes the run itself.
    External {
        /// The engine, e.g. `airflow`.
        executor: String,
    },
}

/// The owner columns of a run, as read.
struct Owned {
    owner: Option<RunOwner>,
    heartbeat: Option<DateTime<Utc>>,
    executor: Option<String>,
}

impl Store {
    /// Claims `run` for `me`: creates it (as `run` describes it) if it does not exist, or takes
    /// it over if its owner is `me` or gone. Otherwise says who executes it.
    pub async fn claim_execution(
        &self,
        run: &DagRunRecord,
        me: &RunOwner,
    ) -> Result<Claim, StoreError> {
        if self
            .insert_run(run, "DO NOTHING", "claim", Some(me), None)
            .await?
            == 1
        {
            return Ok(Claim::Claimed);
        }
        // Another process may change the owner between our read and our write: the write
        // only succeeds on the owner we read, so we read again if it moved.
        for _ in 0..8 {
            let Some(current) = self.owned(&run.dag_id, &run.run_id).await? else {
                // Deleted in between: create it.
                if self
                    .insert_run(run, "DO NOTHING", "claim", Some(me), None)
                    .await?
                    == 1
                {
                    return Ok(Claim::Claimed);
                }
                continue;
            };
            if let Some(executor) = current.executor {
                return Ok(Claim::External { executor });
            }
            let mine = current.owner.as_ref() == Some(me);
            if !mine && !owner_gone(current.owner.as_ref(), current.heartbeat, Utc::now()) {
                return Ok(Claim::Busy {
                    owner: current.owner.expect("a gone owner is checked above"),
                    heartbeat: current.heartbeat,
                });
            }
            let (host, pid) = match &current.owner {
                Some(o) => (o.hostname.as_str(), i64::from(o.pid)),
                None => ("", -1),
            };
            let done = sqlx::query(
                "UPDATE dag_runs SET owner_host = $3, owner_pid = $4, heartbeat_us = $5 \
                 WHERE dag_id = $1 AND run_id = $2 AND COALESCE(owner_host, '') = $6 \
                   AND COALESCE(owner_pid, -1) = $7 AND COALESCE(heartbeat_us, -1) = $8",
            )
            .bind(run.dag_id.as_str())
            .bind(run.run_id.as_str())
            .bind(me.hostname.as_str())
            .bind(i64::from(me.pid))
            .bind(to_us(Utc::now()))
            .bind(host)
            .bind(pid)
            .bind(current.heartbeat.map_or(-1, to_us))
            .execute(&self.pool)
            .await
            .map_err(self.query_error(claim_op(run)))?;
            if done.rows_affected() == 1 {
                if let Some(old) = current.owner.filter(|_| !mine) {
                    tracing::warn!(
                        "run `{}` of DAG `{}` was left by {old}, which is gone: taking it over",
                        run.run_id,
                        run.dag_id
                    );
                }
                return Ok(Claim::Claimed);
            }
        }
        Err(StoreError::Contended { op: claim_op(run) })
    }

    /// Refreshes the heartbeat of a run `me` owns; `false` if `me` no longer owns it.
    pub async fn heartbeat(
        &self,
        dag_id: &str,
        run_id: &str,
        me: &RunOwner,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE dag_runs SET heartbeat_us = $3 \
             WHERE dag_id = $1 AND run_id = $2 AND owner_host = $4 AND owner_pid = $5",
        )
        .bind(dag_id)
        .bind(run_id)
        .bind(to_us(Utc::now()))
        .bind(me.hostname.as_str())
        .bind(i64::from(me.pid))
        .execute(&self.pool)
        .await
        .map_err(self.query_error(format!(
            "refresh the heartbeat of run `{run_id}` of DAG `{dag_id}`"
        )))?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up `me`'s claim on a run (nothing happens if `me` does not own it).
    pub async fn release(
        &self,
        dag_id: &str,
        run_id: &str,
        me: &RunOwner,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE dag_runs SET owner_host = NULL, owner_pid = NULL, heartbeat_us = NULL \
             WHERE dag_id = $1 AND run_id = $2 AND owner_host = $3 AND owner_pid = $4",
        )
        .bind(dag_id)
        .bind(run_id)
        .bind(me.hostname.as_str())
        .bind(i64::from(me.pid))
        .execute(&self.pool)
        .await
        .map_err(self.query_error(format!("release run `{run_id}` of DAG `{dag_id}`")))?;
        Ok(())
    }

    /// Who executes a run and their last heartbeat (`None` if there is no such run).
    pub async fn run_owner(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Option<(Option<RunOwner>, Option<DateTime<Utc>>)>, StoreError> {
        Ok(self
            .owned(dag_id, run_id)
            .await?
            .map(|o| (o.owner, o.heartbeat)))
    }

    /// The engine that schedules a run (`None`: rocket-dag itself, or no such run).
    pub async fn run_executor(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self.owned(dag_id, run_id).await?.and_then(|o| o.executor))
    }

    /// The runs of these DAGs recorded `running` whose owner is gone (see [`owner_gone`]): a
    /// process that executed them was killed. Oldest logical date first.
    pub async fn orphaned_runs(&self, dag_ids: &[&str]) -> Result<Vec<DagRunRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS}, owner_host, owner_pid, heartbeat_us, executor FROM dag_runs \
             WHERE state = $1 AND executor IS NULL ORDER BY logical_date_us, run_id"
        );
        let op = || "list the running runs".to_owned();
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(RunStateRecord::Running.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        let now = Utc::now();
        let mut out = Vec::new();
        for row in &rows {
            let run = run_from_row(row).map_err(self.query_error(op()))?;
            if !dag_ids.contains(&run.dag_id.as_str()) {
                continue;
            }
            let owned = owned_from_row(row).map_err(self.query_error(op()))?;
            if owner_gone(owned.owner.as_ref(), owned.heartbeat, now) {
                out.push(run);
            }
        }
        Ok(out)
    }

    async fn owned(&self, dag_id: &str, run_id: &str) -> Result<Option<Owned>, StoreError> {
        let row = sqlx::query(
            "SELECT owner_host, owner_pid, heartbeat_us, executor FROM dag_runs \
             WHERE dag_id = $1 AND run_id = $2",
        )
        .bind(dag_id)
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.query_error(format!(
            "read the owner of run `{run_id}` of DAG `{dag_id}`"
        )))?;
        row.as_ref()
            .map(owned_from_row)
            .transpose()
            .map_err(self.query_error(format!(
                "read the owner of run `{run_id}` of DAG `{dag_id}`"
            )))
    }
}

fn claim_op(run: &DagRunRecord) -> String {
    format!("claim run `{}` of DAG `{}`", run.run_id, run.dag_id)
}

fn owned_from_row(row: &sqlx::any::AnyRow) -> Result<Owned, sqlx::Error> {
    let host: Option<String> = row.try_get("owner_host")?;
    let pid: Option<i64> = row.try_get("owner_pid")?;
    let heartbeat: Option<i64> = row.try_get("heartbeat_us")?;
    Ok(Owned {
        owner: match (host, pid.and_then(|p| u32::try_from(p).ok())) {
            (Some(hostname), Some(pid)) => Some(RunOwner { hostname, pid }),
            _ => None,
        },
        heartbeat: heartbeat.and_then(DateTime::from_timestamp_micros),
        executor: row.try_get("executor")?,
    })
}
