//! `/metrics`: a run of the book's DAG shows in it (runs, task instances, durations, the
//! images its tasks counted, the requests that reached the server), in both of Prometheus'
//! text formats, and Prometheus' own `promtool` accepts the page; the runner's hooks count
//! each final state once.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rocket_dag::control::{self, Trigger};
use rocket_dag::prelude::*;
use rocket_dag::store::{DagRunRecord, RunStateRecord, Store};
use rocket_dag::web::Metrics;

use super::{Options, Web, client};

/// The value of the sample `name{labels}` in a text exposition: every label listed must
/// match, others may be there too. `None` when no sample matches.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
            (n == name).then_some((rest, value))
        })
        .find(|(rest, _)| {
            labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|(_, value)| value.parse().ok())
}

/// The sum of every sample `name{labels}` matches.
pub fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// `GET /metrics` with `accept`: the content type and the body.
pub async fn scrape(web: &Web, accept: Option<&str>) -> (String, String) {
    let mut request = client().get(web.url("/metrics"));
    if let Some(a) = accept {
        request = request.header("accept", a);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (content_type, response.text().await.unwrap())
}

/// Waits until `dag` has at least `n` runs and none is queued or running; returns them.
pub async fn wait_for_runs(
    store: &Store,
    dag: &str,
    n: usize,
    timeout: Duration,
) -> Vec<DagRunRecord> {
    let deadline = Instant::now() + timeout;
    loop {
        let runs = store.list_runs(Some(dag), None, 10_000).await.unwrap();
        let done = runs
            .iter()
            .all(|r| matches!(r.state, RunStateRecord::Success | RunStateRecord::Failed));
        if runs.len() >= n && done {
            return runs;
        }
        let states: Vec<String> = runs.iter().map(|r| r.state.to_string()).collect();
        assert!(
            Instant::now() < deadline,
            "{dag}: {} run(s) after {timeout:?}, states {states:?}",
            runs.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks `text` with `promtool check metrics` (Prometheus' own parser and linter). Without
/// promtool the test fails, unless `ROCKET_DAG_SKIP_PROMTOOL=1`.
pub fn promtool_check(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("ROCKET_DAG_SKIP_PROMTOOL").as_deref() == Ok("1") {
                eprintln!("promtool not found: /metrics not checked (ROCKET_DAG_SKIP_PROMTOOL=1)");
                return;
            }
            panic!(
                "promtool is not installed: it checks /metrics the way Prometheus parses it. \
                 Install it with `apt-get install -y prometheus` (Debian), or set \
                 ROCKET_DAG_SKIP_PROMTOOL=1 to skip this check"
            );
        }
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics refused /metrics:\n{}{}\n--- the page:\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The run and task series of `n` successful runs of listing_2_10, and what its tasks counted.
fn check_listing_series(text: &str, n: f64) {
    let dag_l = [("dag_id", "listing_2_10")];
    let started = sample(text, "rocket_dag_dag_runs_started_total", &dag_l);
    assert_eq!(started, Some(n), "{text}");
    let success = [("dag_id", "listing_2_10"), ("state", "success")];
    let finished = sample(text, "rocket_dag_dag_runs_finished_total", &success);
    assert_eq!(finished, Some(n), "{text}");
    let failed = sum(
        text,
        "rocket_dag_dag_runs_finished_total",
        &[("state", "failed")],
    );
    assert_eq!(failed, 0.0);
    for task in ["download_launches", "get_pictures", "notify"] {
        let l = [("dag_id", "listing_2_10"), ("task_id", task)];
        let with = |k, v| [l[0], l[1], (k, v)];
        let finished = sample(
            text,
            "rocket_dag_task_instances_finished_total",
            &with("state", "success"),
        );
        assert_eq!(finished, Some(n), "{task}");
        let inf = sample(
            text,
            "rocket_dag_task_duration_seconds_bucket",
            &with("le", "+Inf"),
        );
        assert_eq!(inf, Some(n), "{task}");
        assert!(sample(text, "rocket_dag_task_duration_seconds_sum", &l).unwrap() > 0.0);
    }
    let buckets = text
        .lines()
        .filter(|l| l.starts_with("rocket_dag_task_duration_seconds_bucket{"))
        .count();
    assert!(buckets >= 3 * 10, "{text}");
    // What the pipeline's own tasks counted.
    let images = sample(text, "rocket_dag_images_downloaded_total", &dag_l);
    assert!(images.unwrap() > 0.0, "{text}");
    let bytes = sample(text, "rocket_dag_images_downloaded_bytes_total", &dag_l);
    assert!(bytes.unwrap() > 0.0, "{text}");
}

/// The requests the test made, by route template, and the scheduler's series.
fn check_server_series(text: &str) {
    let l = [("route", "/metrics"), ("method", "GET"), ("status", "200")];
    assert!(sample(text, "rocket_dag_http_requests_total", &l).unwrap() >= 1.0);
    let l = [("route", "unmatched"), ("status", "404")];
    assert_eq!(
        sample(text, "rocket_dag_http_requests_total", &l),
        Some(1.0)
    );
    assert!(
        !text.contains("/no/such/page"),
        "a raw path became a label:\n{text}"
    );
    let passes = sample(text, "rocket_dag_scheduler_loop_lag_seconds_count", &[]);
    assert!(passes.unwrap() >= 1.0);
    assert!(sample(text, "rocket_dag_scheduler_queued_runs", &[]).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_run_shows_in_metrics_and_promtool_accepts_them() {
    let dag = dags::listing_2_10::listing_2_10();
    let web = Web::start(Options {
        dags: vec![dag.clone()],
        ..Options::default()
    })
    .await;
    let queued = control::trigger(&web.store, web.home(), &dag, Trigger::default())
        .await
        .unwrap();
    // A route that does not exist counts under one label, not under its path.
    let missing = client().get(web.url("/no/such/page/42")).send();
    assert_eq!(missing.await.unwrap().status(), 404);
    scrape(&web, None).await;
    // The scheduler may also have started the latest scheduled interval (catchup = false).
    let runs = wait_for_runs(&web.store, "listing_2_10", 1, Duration::from_secs(60)).await;
    assert!(runs.iter().any(|r| r.run_id == queued.run_id));
    let states: Vec<_> = runs.iter().map(|r| r.state).collect();
    assert!(
        states.iter().all(|s| *s == RunStateRecord::Success),
        "{states:?}"
    );
    let n = runs.len() as f64;

    let (content_type, text) = scrape(&web, None).await;
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    check_listing_series(&text, n);
    check_server_series(&text);
    promtool_check(&text);

    // What Prometheus asks for: OpenMetrics, the same series.
    let prometheus_accept = "application/openmetrics-text;version=1.0.0,\
                             text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let (content_type, om) = scrape(&web, Some(prometheus_accept)).await;
    assert!(content_type.starts_with("application/openmetrics-text; version=1.0.0"));
    assert!(om.ends_with("# EOF\n"));
    let success = [("dag_id", "listing_2_10"), ("state", "success")];
    let finished = sample(&om, "rocket_dag_dag_runs_finished_total", &success);
    assert_eq!(finished, Some(n));
    web.stop().await;
}

mod hooks {
    use super::*;

    #[task]
    async fn counting(ctx: &TaskContext) -> Result<u32, TaskError> {
        ctx.count("widgets", 3);
        ctx.count_by("widget_errors", "class", "bent", 1);
        // Refused (warned): not a name Prometheus takes, and a reserved label.
        ctx.count("Bad-Name", 1);
        ctx.count_by("widget_errors", "dag_id", "x", 1);
        Ok(1)
    }

    #[task]
    async fn breaking(n: u32) -> Result<u32, TaskError> {
        Err(TaskError::fail_now(format!("broken after {n}")))
    }

    #[task]
    async fn never_runs(n: u32) -> Result<u32, TaskError> {
        Ok(n)
    }

    #[task]
    async fn each(n: u32) -> Result<u32, TaskError> {
        Ok(n)
    }

    #[task]
    async fn list() -> Result<Vec<u32>, TaskError> {
        Ok(vec![1, 2, 3])
    }

    #[dag(schedule = None)]
    pub fn observed() {
        let n = counting();
        let b = breaking(n);
        never_runs(b);
        each.expand(list());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_tells_each_final_state_once() {
    rocket_dag::logging::init();
    let home = tempfile::tempdir().unwrap();
    let metrics = Metrics::new();
    let runner = metrics.observe(Runner::new(home.path()));
    let date = "2024-01-01T00:00:00Z".parse().unwrap();
    let report = runner.run(&hooks::observed(), RunRequest::new(date)).await;
    assert_eq!(report.state, RunState::Failed);
    let text = metrics.encode(false);
    let finished = |task: &str, state: &str| {
        let l = [("dag_id", "observed"), ("task_id", task), ("state", state)];
        sample(&text, "rocket_dag_task_instances_finished_total", &l)
    };
    assert_eq!(finished("counting", "success"), Some(1.0));
    assert_eq!(finished("breaking", "failed"), Some(1.0));
    assert_eq!(finished("never_runs", "upstream_failed"), Some(1.0));
    // A mapped task: its three elements, not the task itself.
    assert_eq!(finished("each", "success"), Some(3.0));
    assert_eq!(
        sum(&text, "rocket_dag_task_instances_finished_total", &[]),
        7.0
    );
    // Durations of what ran; `never_runs` was decided without running.
    let ran = |task: &str| {
        let l = [("dag_id", "observed"), ("task_id", task)];
        sample(&text, "rocket_dag_task_duration_seconds_count", &l)
    };
    assert_eq!(ran("breaking"), Some(1.0));
    assert_eq!(ran("each"), Some(3.0));
    assert_eq!(ran("never_runs"), None);
    let failed = [("dag_id", "observed"), ("state", "failed")];
    assert_eq!(
        sample(&text, "rocket_dag_dag_runs_finished_total", &failed),
        Some(1.0)
    );
    let dag_l = [("dag_id", "observed")];
    assert_eq!(sample(&text, "rocket_dag_widgets_total", &dag_l), Some(3.0));
    let bent = [("dag_id", "observed"), ("class", "bent")];
    assert_eq!(
        sample(&text, "rocket_dag_widget_errors_total", &bent),
        Some(1.0)
    );
    assert_eq!(sum(&text, "rocket_dag_widget_errors_total", &[]), 1.0);
    assert!(!text.contains("Bad-Name"));
    promtool_check(&text);

    // Nobody observing: counting is a no-op, and the run is the same.
    let plain = Runner::new(home.path());
    let report = plain
        .run(
            &hooks::observed(),
            RunRequest::new(date).run_id("unobserved"),
        )
        .await;
    assert_eq!(report.state, RunState::Failed);
    assert!(plain.observer().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_token_once_one_is_set() {
    let auth = rocket_dag::web::Auth::new(None, Some("s3cret".into())).unwrap();
    let web = Web::start(Options {
        dags: vec![hooks::observed()],
        auth,
        scheduler: false,
        ..Options::default()
    })
    .await;
    let denied = client().get(web.url("/metrics")).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let wrong = client().get(web.url("/metrics")).bearer_auth("nope");
    assert_eq!(wrong.send().await.unwrap().status(), 401);
    let allowed = client().get(web.url("/metrics")).bearer_auth("s3cret");
    let text = allowed.send().await.unwrap().text().await.unwrap();
    // Refusals are counted too, under the route asked for.
    let l = [("route", "/metrics"), ("status", "401")];
    assert_eq!(
        sample(&text, "rocket_dag_http_requests_total", &l),
        Some(2.0),
        "{text}"
    );
    web.stop().await;
}
