//! The history report: a DAG's recent runs from the run history — pictures downloaded per
//! day, the run success rate and each task's duration per run.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rocket_dag::store::{DagRunRecord, NOT_MAPPED, RunStateRecord, Store, TaskInstanceRecord};
use serde::{Deserialize, Serialize};

use super::ReportError;
use crate::record::{ImageRecord, Outcome};

mod render;

/// Calendar days (UTC) that the per-day figures of [`HistoryReport`] cover, today included.
pub const HISTORY_DAYS: i64 = 30;

/// One run of the DAG as [`HistoryReport::build`] reads it: the run, every try of its task
/// instances, and the image records its images task returned.
#[derive(Debug, Clone, PartialEq)]
pub struct RunHistory {
    /// The run.
    pub run: DagRunRecord,
    /// Every try of every task instance of the run (any order).
    pub task_instances: Vec<TaskInstanceRecord>,
    /// The output of the images task; `None` when it has none (it did not succeed) or the
    /// output is not image records.
    pub images: Option<Vec<ImageRecord>>,
}

/// The DAG's recent history: images per day, run success rate, task durations.
///
/// "The last 30 days" are the [`HISTORY_DAYS`] calendar days (UTC) ending with the day of
/// `now`, by each run's logical date (so a backfill counts on the days it covers, not the
/// day it ran).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryReport {
    /// The DAG.
    pub dag_id: String,
    /// The task whose output is the run's image records.
    pub images_task_id: String,
    /// When the report was made.
    pub now: DateTime<Utc>,
    /// The first day of the period (UTC).
    pub first_day: NaiveDate,
    /// The last day of the period, the day of `now` (UTC).
    pub last_day: NaiveDate,
    /// Every day of the period, oldest first, zeros included.
    pub images_per_day: Vec<DayImages>,
    /// Runs of the period without image records.
    pub runs_without_images: usize,
    /// Success rate of the DAG's runs.
    pub success_rate: SuccessRates,
    /// The tasks of the runs of the period, roughly in the order they run (by their earliest
    /// start relative to their run's start), ties by id.
    pub tasks: Vec<String>,
    /// The runs of the period with their task durations, oldest logical date first.
    pub runs: Vec<RunDurations>,
    /// The pictures of the period, most needed first (then most downloaded, then by URL).
    pub pictures: Vec<PictureUse>,
}

/// Pictures downloaded on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayImages {
    /// The day (UTC) of the runs' logical dates.
    pub date: NaiveDate,
    /// Runs with a logical date on that day.
    pub runs: usize,
    /// Image records with outcome `downloaded` in those runs.
    pub images_downloaded: usize,
    /// Image records in those runs (one per launch, whatever happened).
    pub image_records: usize,
    /// Image records with outcome `failed` in those runs, per error class (most first).
    pub failures_by_class: Vec<(String, usize)>,
}

impl DayImages {
    fn failed(&self) -> usize {
        self.failures_by_class.iter().map(|(_, n)| n).sum()
    }
}

/// One picture across the runs of the period: how often the pipeline needed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PictureUse {
    /// Its URL.
    pub url: String,
    /// The launch it belongs to (its name in the latest run).
    pub launch_name: String,
    /// Runs whose image records name it.
    pub runs: usize,
    /// Runs that downloaded it.
    pub downloaded: usize,
    /// Runs that found it already present (or a duplicate): downloads saved.
    pub already_present: usize,
    /// Runs where it failed.
    pub failed: usize,
    /// The latest logical date that named it.
    pub last_seen: DateTime<Utc>,
}

/// How many pictures [`HistoryReport::pictures`] lists in Markdown (the CSV has them all).
const PICTURES_LISTED: usize = 20;

/// The DAG's run success rate, overall and over the last 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SuccessRates {
    /// Every recorded run.
    pub overall: SuccessRate,
    /// Runs whose logical date is in the period.
    pub last_30_days: SuccessRate,
}

/// Finished runs and how many succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SuccessRate {
    /// Runs considered, finished or not.
    pub runs: usize,
    /// Runs that finished (`success` or `failed`; `queued` and `running` ones have not).
    pub finished: usize,
    /// Runs that succeeded.
    pub success: usize,
    /// Runs that failed.
    pub failed: usize,
    /// `success / finished`, from 0 to 1; `null` when no run finished.
    pub rate: Option<f64>,
}

impl SuccessRate {
    fn of<'a>(runs: impl Iterator<Item = &'a DagRunRecord>) -> SuccessRate {
        let (mut all, mut success, mut failed) = (0, 0, 0);
        for run in runs {
            all += 1;
            // Not an exhaustive match: the store's state enum may grow.
            if run.state == RunStateRecord::Success {
                success += 1;
            } else if run.state == RunStateRecord::Failed {
                failed += 1;
            }
        }
        let finished = success + failed;
        SuccessRate {
            runs: all,
            finished,
            success,
            failed,
            rate: (finished > 0).then(|| success as f64 / finished as f64),
        }
    }
}

/// One run's task durations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDurations {
    /// The run.
    pub run_id: String,
    /// Its logical date.
    pub logical_date: DateTime<Utc>,
    /// Its state.
    pub state: RunStateRecord,
    /// Image records with outcome `downloaded`; `null` when the run has no image records.
    pub images_downloaded: Option<usize>,
    /// Image records already present or duplicates (nothing to download); `null` as above.
    pub images_present: Option<usize>,
    /// Image records that failed; `null` as above.
    pub images_failed: Option<usize>,
    /// Hours from the previous run's logical date (`null` for the first of the period): how
    /// often the DAG ran, beside how much each run found new.
    pub hours_since_previous: Option<f64>,
    /// Its tasks, in [`HistoryReport::tasks`] order (tasks it never reached are absent).
    pub tasks: Vec<TaskDuration>,
}

/// How long one task took in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskDuration {
    /// The task.
    pub task_id: String,
    /// For a mapped task, its number of elements; `null` for a task that is not mapped.
    pub map_elements: Option<usize>,
    /// The duration of its last try, in seconds; for a mapped task, the **sum** over its
    /// elements of their last try's duration (the time spent on the task — not the wall-clock
    /// time, as elements run concurrently). `null` when no (last) try has ended.
    pub seconds: Option<f64>,
}

/// The first and last day of the period ending on `now`'s day.
fn history_period(now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let last = now.date_naive();
    (last - Duration::days(HISTORY_DAYS - 1), last)
}

/// Reads a run's image records from the outputs of its `task_id`: a `Vec<ImageRecord>`, or,
/// for a mapped task, one record (or one list) per element, in map-index order.
pub(super) fn images_from_outputs(
    run_id: &str,
    task_id: &str,
    outputs: &[(String, i32, String)],
) -> Option<Vec<ImageRecord>> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Output {
        Many(Vec<ImageRecord>),
        One(Box<ImageRecord>),
    }
    let mut records: Option<Vec<ImageRecord>> = None;
    for (_, map_index, json) in outputs.iter().filter(|(t, ..)| t == task_id) {
        match serde_json::from_str::<Output>(json) {
            Ok(Output::Many(many)) => records.get_or_insert_with(Vec::new).extend(many),
            Ok(Output::One(one)) => records.get_or_insert_with(Vec::new).push(*one),
            // A report is no reason to fail: the run counts as one without records.
            Err(err) => tracing::warn!(
                run_id,
                task_id,
                map_index,
                cause = %err,
                "the task's output is not image records; left out of the history report"
            ),
        }
    }
    records
}

impl HistoryReport {
    /// Reads the history of `dag_id` from `store` and builds its report: every run for the
    /// overall success rate, the task instances and image records (the outputs of
    /// `images_task_id`) of the runs of the last 30 days.
    ///
    /// # Errors
    ///
    /// [`ReportError::History`] when the store cannot be read.
    pub async fn load(
        store: &Store,
        dag_id: &str,
        images_task_id: &str,
        now: DateTime<Utc>,
    ) -> Result<HistoryReport, ReportError> {
        let fail = |cause| ReportError::History {
            dag_id: dag_id.to_owned(),
            cause,
        };
        // One narrow query for every run; the per-run reads only for the period.
        let runs = store
            .list_runs(Some(dag_id), None, u32::MAX)
            .await
            .map_err(fail)?;
        let (first, last) = history_period(now);
        let mut history = Vec::with_capacity(runs.len());
        for run in runs {
            let day = run.logical_date.date_naive();
            let (task_instances, images) = if first <= day && day <= last {
                let tries = store
                    .task_instances(dag_id, &run.run_id)
                    .await
                    .map_err(fail)?;
                let outputs = store.load_xcoms(dag_id, &run.run_id).await.map_err(fail)?;
                let images = images_from_outputs(&run.run_id, images_task_id, &outputs);
                (tries, images)
            } else {
                (Vec::new(), None)
            };
            history.push(RunHistory {
                run,
                task_instances,
                images,
            });
        }
        Ok(HistoryReport::build(dag_id, images_task_id, now, &history))
    }

    /// Builds the report from runs already read (runs of other DAGs are ignored). Only the
    /// task instances and images of runs in the period are used.
    pub fn build(
        dag_id: &str,
        images_task_id: &str,
        now: DateTime<Utc>,
        runs: &[RunHistory],
    ) -> HistoryReport {
        let (first_day, last_day) = history_period(now);
        let runs: Vec<&RunHistory> = runs.iter().filter(|h| h.run.dag_id == dag_id).collect();
        let mut recent: Vec<&RunHistory> = runs
            .iter()
            .copied()
            .filter(|h| {
                let day = h.run.logical_date.date_naive();
                first_day <= day && day <= last_day
            })
            .collect();
        recent.sort_by(|a, b| {
            (a.run.logical_date, &a.run.run_id).cmp(&(b.run.logical_date, &b.run.run_id))
        });
        let tasks = task_order(&recent);
        HistoryReport {
            dag_id: dag_id.to_owned(),
            images_task_id: images_task_id.to_owned(),
            now,
            first_day,
            last_day,
            images_per_day: images_per_day(&recent, first_day, last_day),
            runs_without_images: recent.iter().filter(|h| h.images.is_none()).count(),
            success_rate: SuccessRates {
                overall: SuccessRate::of(runs.iter().map(|h| &h.run)),
                last_30_days: SuccessRate::of(recent.iter().map(|h| &h.run)),
            },
            runs: recent
                .iter()
                .enumerate()
                .map(|(i, h)| RunDurations {
                    run_id: h.run.run_id.clone(),
                    logical_date: h.run.logical_date,
                    state: h.run.state,
                    images_downloaded: h.downloaded(),
                    images_present: h.count(|o| o.is_ok() && o != Outcome::Downloaded),
                    images_failed: h.count(|o| o == Outcome::Failed),
                    hours_since_previous: i.checked_sub(1).map(|p| {
                        (h.run.logical_date - recent[p].run.logical_date).num_seconds() as f64
                            / 3600.0
                    }),
                    tasks: task_durations(&h.task_instances, &tasks),
                })
                .collect(),
            pictures: picture_uses(&recent),
            tasks: tasks.into_iter().map(str::to_owned).collect(),
        }
    }
}

impl RunHistory {
    /// Image records with outcome `downloaded`; `None` without image records.
    fn downloaded(&self) -> Option<usize> {
        self.count(|o| o == Outcome::Downloaded)
    }

    /// Image records whose outcome `pick` says; `None` without image records.
    fn count(&self, pick: impl Fn(Outcome) -> bool) -> Option<usize> {
        self.images
            .as_ref()
            .map(|images| images.iter().filter(|r| pick(r.outcome)).count())
    }
}

/// Every picture (by URL) the runs of `recent` named, most needed first.
fn picture_uses(recent: &[&RunHistory]) -> Vec<PictureUse> {
    let mut by_url: BTreeMap<&str, PictureUse> = BTreeMap::new();
    for h in recent {
        for r in h.images.iter().flatten() {
            let Some(url) = r.url.as_deref() else {
                continue;
            };
            let p = by_url.entry(url).or_insert_with(|| PictureUse {
                url: url.to_owned(),
                launch_name: r.launch_name.clone(),
                runs: 0,
                downloaded: 0,
                already_present: 0,
                failed: 0,
                last_seen: h.run.logical_date,
            });
            p.runs += 1;
            match r.outcome {
                Outcome::Downloaded => p.downloaded += 1,
                Outcome::Failed => p.failed += 1,
                o if o.is_ok() => p.already_present += 1,
                _ => {}
            }
            if h.run.logical_date >= p.last_seen {
                p.last_seen = h.run.logical_date;
                p.launch_name.clone_from(&r.launch_name);
            }
        }
    }
    let mut out: Vec<PictureUse> = by_url.into_values().collect();
    // Stable: ties stay in URL order.
    out.sort_by_key(|p| std::cmp::Reverse((p.runs, p.downloaded)));
    out
}

/// Every day of the period, with the runs of `recent` on it and their downloaded pictures.
fn images_per_day(recent: &[&RunHistory], first: NaiveDate, last: NaiveDate) -> Vec<DayImages> {
    let mut days: BTreeMap<NaiveDate, DayImages> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|date| {
            let day = DayImages {
                date,
                runs: 0,
                images_downloaded: 0,
                image_records: 0,
                failures_by_class: Vec::new(),
            };
            (date, day)
        })
        .collect();
    let mut classes: BTreeMap<NaiveDate, BTreeMap<String, usize>> = BTreeMap::new();
    for h in recent {
        let date = h.run.logical_date.date_naive();
        if let Some(day) = days.get_mut(&date) {
            day.runs += 1;
            day.images_downloaded += h.downloaded().unwrap_or(0);
            day.image_records += h.images.as_ref().map_or(0, Vec::len);
            for r in h.images.iter().flatten() {
                if r.outcome == Outcome::Failed {
                    let class = r.error_class.clone().unwrap_or_else(|| "unknown".into());
                    *classes.entry(date).or_default().entry(class).or_default() += 1;
                }
            }
        }
    }
    for (date, counts) in classes {
        if let Some(day) = days.get_mut(&date) {
            let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
            counts.sort_by_key(|c| std::cmp::Reverse(c.1));
            day.failures_by_class = counts;
        }
    }
    days.into_values().collect()
}

/// The tasks of `recent`, by how soon after its run's start each first started, ties by id.
fn task_order<'a>(recent: &[&'a RunHistory]) -> Vec<&'a str> {
    let mut first_start: HashMap<&str, i64> = HashMap::new();
    for h in recent {
        for ti in &h.task_instances {
            let offset = (ti.start - h.run.start)
                .num_microseconds()
                .unwrap_or(i64::MAX);
            first_start
                .entry(&ti.task_id)
                .and_modify(|o| *o = (*o).min(offset))
                .or_insert(offset);
        }
    }
    let mut tasks: Vec<&str> = first_start.keys().copied().collect();
    tasks.sort_by_key(|t| (first_start[t], *t));
    tasks
}

/// Each of `tasks` that has tries in `tries`, with the duration of its last try (summed over
/// the elements of a mapped task).
fn task_durations(tries: &[TaskInstanceRecord], tasks: &[&str]) -> Vec<TaskDuration> {
    let mut last: BTreeMap<(&str, i32), &TaskInstanceRecord> = BTreeMap::new();
    for ti in tries {
        last.entry((&ti.task_id, ti.map_index))
            .and_modify(|t| {
                if ti.try_number > t.try_number {
                    *t = ti;
                }
            })
            .or_insert(ti);
    }
    let mut out = Vec::new();
    for &task in tasks {
        let instances: Vec<&TaskInstanceRecord> = last
            .values()
            .copied()
            .filter(|t| t.task_id == task)
            .collect();
        if instances.is_empty() {
            continue;
        }
        // A mapped task may also have a row at NOT_MAPPED (e.g. skipped over an empty list):
        // its elements, when there are any, are what ran.
        let elements: Vec<&TaskInstanceRecord> = instances
            .iter()
            .copied()
            .filter(|t| t.map_index != NOT_MAPPED)
            .collect();
        let (map_elements, counted) = if elements.is_empty() {
            (None, instances)
        } else {
            (Some(elements.len()), elements)
        };
        let ended: Vec<f64> = counted
            .iter()
            .filter_map(|t| t.duration.map(|d| d.as_secs_f64()))
            .collect();
        out.push(TaskDuration {
            task_id: task.to_owned(),
            map_elements,
            seconds: (!ended.is_empty()).then(|| ended.iter().sum()),
        });
    }
    out
}
