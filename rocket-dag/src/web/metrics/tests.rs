use std::time::Duration;

use super::*;
use crate::report::TaskState;

fn accept(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::ACCEPT, value.parse().unwrap());
    h
}

#[test]
fn accept_picks_openmetrics_only_when_preferred() {
    // What Prometheus 2.x sends: OpenMetrics first.
    let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                      version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert!(wants_openmetrics(&accept(prometheus)));
    assert!(wants_openmetrics(&accept("application/openmetrics-text")));
    assert!(!wants_openmetrics(&HeaderMap::new()));
    assert!(!wants_openmetrics(&accept("*/*")));
    assert!(!wants_openmetrics(&accept("text/plain;version=0.0.4")));
    assert!(!wants_openmetrics(&accept(
        "text/plain, application/openmetrics-text;q=0.2"
    )));
    assert!(!wants_openmetrics(&accept(
        "application/openmetrics-text;q=0"
    )));
}

#[test]
fn methods_outside_the_standard_ones_share_one_label() {
    assert_eq!(method_label(&Method::GET), "GET");
    assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
}

fn task(state: TaskState, duration: Option<Duration>) -> TaskFinished<'static> {
    TaskFinished {
        dag_id: "d",
        run_id: "manual__x",
        task_id: "t",
        map_index: None,
        state,
        duration,
        try_number: 1,
    }
}

#[test]
fn both_formats_carry_the_same_series() {
    let m = Metrics::new();
    m.run_started(&RunStarted {
        dag_id: "d",
        run_id: "manual__x",
        run_type: crate::run::RunType::Manual,
    });
    m.task_finished(&task(TaskState::Success, Some(Duration::from_millis(20))));
    m.task_finished(&task(TaskState::UpstreamFailed, None));
    m.scheduler_pass(&SchedulerPass::new(Duration::from_millis(3), 2));
    m.count_request("/api/v1/dags/{dag_id}", &Method::GET, 200);
    let text = m.encode(false);
    for line in [
        "# TYPE rocket_dag_dag_runs_started_total counter",
        "rocket_dag_dag_runs_started_total{dag_id=\"d\"} 1",
        "rocket_dag_task_instances_finished_total{dag_id=\"d\",task_id=\"t\",state=\"success\"} 1",
        "rocket_dag_task_instances_finished_total{dag_id=\"d\",task_id=\"t\",state=\"upstream_failed\"} 1",
        "rocket_dag_task_duration_seconds_bucket{dag_id=\"d\",task_id=\"t\",le=\"0.025\"} 1",
        "rocket_dag_task_duration_seconds_count{dag_id=\"d\",task_id=\"t\"} 1",
        "rocket_dag_scheduler_queued_runs 2",
        "rocket_dag_scheduler_loop_lag_seconds_count 1",
        "rocket_dag_http_requests_total{route=\"/api/v1/dags/{dag_id}\",method=\"GET\",status=\"200\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
    assert!(!text.contains("# EOF"));
    let om = m.encode(true);
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE rocket_dag_dag_runs_started counter"));
    assert!(om.contains("rocket_dag_dag_runs_started_total{dag_id=\"d\"} 1"));
}

fn count<'a>(name: &'a str, label: Option<(&'a str, &'a str)>, n: u64) -> Count<'a> {
    Count {
        dag_id: "d",
        task_id: "t",
        name,
        label,
        n,
    }
}

#[test]
fn task_counts_become_families_of_their_own() {
    let m = Metrics::new();
    m.count(&count("images_downloaded", None, 3));
    m.count(&count("images_downloaded", None, 2));
    m.count(&count("images_failed", Some(("class", "timeout")), 1));
    // A task may not pass itself off as one of the server's metrics.
    m.count(&count("http_requests", None, 7));
    let text = m.encode(false);
    assert!(
        text.contains("# TYPE rocket_dag_images_downloaded_total counter"),
        "{text}"
    );
    assert!(text.contains("rocket_dag_images_downloaded_total{dag_id=\"d\"} 5"));
    assert!(text.contains("rocket_dag_images_failed_total{dag_id=\"d\",class=\"timeout\"} 1"));
    assert!(!text.contains("rocket_dag_http_requests_total{dag_id"));
}

#[test]
fn task_counts_stop_growing_at_the_limit() {
    let m = Metrics::new();
    for i in 0..MAX_COUNT_SERIES + 10 {
        let v = i.to_string();
        m.count(&count("by_id", Some(("id", &v)), 1));
    }
    // Series already there keep counting.
    m.count(&count("by_id", Some(("id", "0")), 1));
    let text = m.encode(false);
    let series = text
        .lines()
        .filter(|l| l.starts_with("rocket_dag_by_id_total{"))
        .count();
    assert_eq!(series, MAX_COUNT_SERIES);
    assert!(text.contains("rocket_dag_by_id_total{dag_id=\"d\",id=\"0\"} 2"));
}
