//! `/metrics`: what this process counts, in Prometheus' text format (version 0.0.4) or
//! OpenMetrics, as the scraper's `Accept` asks.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `rocket_dag_dag_runs_started_total` | `dag_id` | runs this process started executing |
//! | `rocket_dag_dag_runs_finished_total` | `dag_id`, `state` | runs it finished, by final state |
//! | `rocket_dag_dag_run_duration_seconds` | `dag_id`, `state` | histogram of those runs' durations |
//! | `rocket_dag_task_instances_finished_total` | `dag_id`, `task_id`, `state` | task instances (mapped elements each) that reached a final state |
//! | `rocket_dag_task_duration_seconds` | `dag_id`, `task_id` | histogram of the last attempt's duration of each task instance that ran |
//! | `rocket_dag_scheduler_loop_lag_seconds` | | histogram: how late each scheduler pass started against when it was meant to |
//! | `rocket_dag_scheduler_queued_runs` | | gauge: runs the latest pass found queued |
//! | `rocket_dag_http_requests_total` | `route`, `method`, `status` | requests by route template (`/api/v1/dags/{dag_id}`, `unmatched`), method and status |
//! | `rocket_dag_<name>_total` | `dag_id` (and the task's own label) | what tasks count ([`TaskContext::count`](crate::TaskContext::count)): `images_downloaded`, `images_failed{class}`, … |
//!
//! Labels never carry run ids, URLs or raw paths: every series is bounded by the DAGs of the
//! binary, the routes of the server, and at most [`MAX_COUNT_SERIES`] series of task counts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::AppState;
use crate::context::Count;
use crate::runner::{DagRunReport, RunObserver, RunStarted, RunState, SchedulerPass, TaskFinished};

/// The most series of task counts kept (every name × label value × DAG together); counts
/// that would add one more are dropped, with one warning, so that a task counting by URL
/// cannot grow the page without bound.
pub(crate) const MAX_COUNT_SERIES: usize = 1000;

/// The `Content-Type` of OpenMetrics text.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Task durations: from a no-op (milliseconds) to an hour.
const DURATION_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];
/// Scheduler lag: a healthy loop is late by milliseconds; seconds mean a starved runtime.
const LAG_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0];

/// The names of the metrics above (without prefix or `_total`): a task count may not take one.
const RESERVED: [&str; 8] = [
    "dag_runs_started",
    "dag_runs_finished",
    "dag_run_duration_seconds",
    "task_instances_finished",
    "task_duration_seconds",
    "scheduler_loop_lag_seconds",
    "scheduler_queued_runs",
    "http_requests",
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DagLabels {
    dag_id: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    dag_id: String,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    dag_id: String,
    task_id: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskStateLabels {
    dag_id: String,
    task_id: String,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: &'static str,
    status: u16,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// The metrics of this process: its runs, task instances, scheduler, HTTP requests and what
/// its tasks count. Cheap to clone; clones count into the same metrics.
///
/// Give the same value to [`Server::bind`](super::Server::bind) (which shows it) and to the
/// runner whose runs it counts ([`Metrics::observe`]).
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    runs_started: Family<DagLabels, Counter>,
    runs_finished: Family<RunLabels, Counter>,
    run_duration: Histograms<RunLabels>,
    tasks_finished: Family<TaskStateLabels, Counter>,
    task_duration: Histograms<TaskLabels>,
    scheduler_lag: Histogram,
    scheduler_queued: Gauge,
    http_requests: Family<HttpLabels, Counter>,
    counts: Arc<TaskCounts>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("rocket_dag");
        let runs_started = Family::<DagLabels, Counter>::default();
        let runs_finished = Family::<RunLabels, Counter>::default();
        let run_duration: Histograms<RunLabels> = Family::new_with_constructor(duration_histogram);
        let tasks_finished = Family::<TaskStateLabels, Counter>::default();
        let task_duration: Histograms<TaskLabels> =
            Family::new_with_constructor(duration_histogram);
        let scheduler_lag = Histogram::new(LAG_BUCKETS);
        let scheduler_queued = Gauge::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        let counts = Arc::new(TaskCounts::default());
        let r = &mut registry;
        r.register(RESERVED[0], "DAG runs started", runs_started.clone());
        r.register(
            RESERVED[1],
            "DAG runs finished, by final state",
            runs_finished.clone(),
        );
        r.register(
            RESERVED[2],
            "Durations of finished DAG runs",
            run_duration.clone(),
        );
        r.register(
            RESERVED[3],
            "Task instances finished, by final state",
            tasks_finished.clone(),
        );
        r.register(
            RESERVED[4],
            "Durations of task instances' last attempts",
            task_duration.clone(),
        );
        r.register(
            RESERVED[5],
            "How late scheduler passes started",
            scheduler_lag.clone(),
        );
        r.register(
            RESERVED[6],
            "Runs queued at the latest scheduler pass",
            scheduler_queued.clone(),
        );
        r.register(
            RESERVED[7],
            "HTTP requests by route, method and status",
            http_requests.clone(),
        );
        r.register_collector(Box::new(counts.clone()));
        Metrics {
            inner: Arc::new(Inner {
                registry,
                runs_started,
                runs_finished,
                run_duration,
                tasks_finished,
                task_duration,
                scheduler_lag,
                scheduler_queued,
                http_requests,
                counts,
            }),
        }
    }

    /// `runner`, counting its runs, task instances and tasks' counts into these metrics (and,
    /// when the scheduler drives it, the scheduler's passes).
    pub fn observe(&self, runner: crate::runner::Runner) -> crate::runner::Runner {
        runner.observe(Arc::new(self.clone()))
    }

    /// The exposition: OpenMetrics text (ends with `# EOF`) or the Prometheus text format
    /// 0.0.4.
    pub fn encode(&self, openmetrics: bool) -> String {
        let mut out = String::with_capacity(4096);
        let written = if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &self.inner.registry)
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.inner.registry)
        };
        // Writing to a String cannot fail; the encoders fail only on their writer's errors.
        written.expect("encoding metrics into a String");
        out
    }

    /// Counts one HTTP request.
    fn count_request(&self, route: &str, method: &Method, status: u16) {
        let labels = HttpLabels {
            route: route.to_owned(),
            method: method_label(method),
            status,
        };
        self.inner.http_requests.get_or_create(&labels).inc();
    }
}

impl RunObserver for Metrics {
    fn run_started(&self, run: &RunStarted<'_>) {
        let labels = DagLabels {
            dag_id: run.dag_id.to_owned(),
        };
        self.inner.runs_started.get_or_create(&labels).inc();
    }

    fn run_finished(&self, report: &DagRunReport) {
        let labels = RunLabels {
            dag_id: report.dag_id.clone(),
            state: match report.state {
                RunState::Success => "success",
                RunState::Failed => "failed",
            },
        };
        self.inner.runs_finished.get_or_create(&labels).inc();
        self.inner
            .run_duration
            .get_or_create(&labels)
            .observe(report.duration.as_secs_f64());
    }

    fn task_finished(&self, task: &TaskFinished<'_>) {
        let labels = TaskStateLabels {
            dag_id: task.dag_id.to_owned(),
            task_id: task.task_id.to_owned(),
            state: task.state.as_str(),
        };
        self.inner.tasks_finished.get_or_create(&labels).inc();
        if let Some(d) = task.duration {
            let labels = TaskLabels {
                dag_id: labels.dag_id,
                task_id: labels.task_id,
            };
            let h = self.inner.task_duration.get_or_create(&labels);
            h.observe(d.as_secs_f64());
        }
    }

    fn count(&self, count: &Count<'_>) {
        self.inner.counts.add(count);
    }

    fn scheduler_pass(&self, pass: &SchedulerPass) {
        self.inner.scheduler_lag.observe(pass.lag.as_secs_f64());
        let queued = i64::try_from(pass.queued).unwrap_or(i64::MAX);
        self.inner.scheduler_queued.set(queued);
    }
}

/// What tasks count, one counter family per name, made as names first appear.
#[derive(Debug, Default)]
struct TaskCounts {
    families: RwLock<CountFamilies>,
    /// Set once counts were dropped (warned once).
    full: AtomicBool,
}

#[derive(Debug, Default)]
struct CountFamilies {
    by_name: BTreeMap<String, Family<Vec<(String, String)>, Counter>>,
    /// Series over every family.
    series: usize,
}

impl TaskCounts {
    fn add(&self, count: &Count<'_>) {
        if RESERVED.contains(&count.name) {
            tracing::warn!(
                "count `{}`: the name is one of the server's own metrics: not counted",
                count.name
            );
            return;
        }
        let mut labels = vec![("dag_id".to_owned(), count.dag_id.to_owned())];
        if let Some((k, v)) = count.label {
            labels.push((k.to_owned(), v.to_owned()));
        }
        {
            // The common case, a series that exists: a shared lock only.
            let families = self.families.read().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = families
                .by_name
                .get(count.name)
                .and_then(|f| f.get(&labels))
            {
                c.inc_by(count.n);
                return;
            }
        }
        let mut families = self.families.write().unwrap_or_else(|e| e.into_inner());
        let CountFamilies { by_name, series } = &mut *families;
        let family = by_name.entry(count.name.to_owned()).or_default();
        if family.get(&labels).is_none() {
            if *series >= MAX_COUNT_SERIES {
                if !self.full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "task counts reached {MAX_COUNT_SERIES} series: counts of new names or \
                         label values are dropped from now on (count by classes, not by ids)"
                    );
                }
                return;
            }
            *series += 1;
        }
        family.get_or_create(&labels).inc_by(count.n);
    }
}

impl Collector for TaskCounts {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let families = self.families.read().unwrap_or_else(|e| e.into_inner());
        for (name, family) in &families.by_name {
            let metric = encoder.encode_descriptor(
                name,
                "Counted by the DAGs' tasks (TaskContext::count)",
                None,
                family.metric_type(),
            )?;
            family.encode(metric)?;
        }
        Ok(())
    }
}

/// The method as a label: the standard ones, else `other` (a client may send any token).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Whether `Accept` prefers OpenMetrics to the 0.0.4 text format (Prometheus asks for
/// OpenMetrics first; `curl` and browsers get plain text).
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    let (mut om, mut text) = (0.0_f32, 0.0_f32);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "application/openmetrics-text" => om = om.max(q),
                "text/plain" | "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
    }
    om > 0.0 && om >= text
}

/// The `/metrics` route.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/metrics", axum::routing::get(serve))
}

async fn serve(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let openmetrics = wants_openmetrics(&headers);
    let content_type = if openmetrics {
        OPENMETRICS
    } else {
        prometheus_client::encoding::prometheus_text::CONTENT_TYPE
    };
    let body = state.metrics.encode(openmetrics);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Counts each request by route template (never the raw path: one series per route, not
/// per id in it), method and status.
pub(super) async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = request.method().clone();
    let response = next.run(request).await;
    let route = route.as_deref().unwrap_or("unmatched");
    state
        .metrics
        .count_request(route, &method, response.status().as_u16());
    response
}

#[cfg(test)]
mod tests;
