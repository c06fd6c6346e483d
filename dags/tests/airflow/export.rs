//! `airflow export`: the files are deterministic and say what made them; Python compiles them,
//! ruff finds nothing, and Airflow's own DagBag reads back every option, task and dependency of
//! every DAG (the Rocket DAGs and one with every option set, oddly) as the DAG value has them.

use std::collections::BTreeSet;
use std::process::Command;

use rocket_dag::Dag;
use rocket_dag::airflow::export::{Binary, ExportError, GENERATED_MARK, dag_file, py_str};
use rocket_dag::prelude::*;
use serde_json::Value;

use crate::engine::{Airflow, BIN, text};

/// Extracts the "rows" \ with a backslash and a `{{ run_id }}` that is only text,
///
/// and a second paragraph long enough to be cut into several pieces when it is written out
/// as a Python string: ünïcödé, tabs	and all.
#[task(
    retries = 2,
    retry_delay = "90s",
    retry_exponential_backoff = true,
    max_retry_delay = "1h",
    execution_timeout = "10m",
    layer = "source"
)]
async fn extract() -> Vec<String> {
    vec!["a".into(), "bb".into()]
}

#[task(retry_delay = "1500ms")]
async fn load(prefix: String, row: String) -> usize {
    prefix.len() + row.len()
}

#[task]
async fn prefix() -> String {
    "p".into()
}

/// Counts.
#[task(trigger_rule = "all_done")]
async fn report(counts: Vec<usize>) -> usize {
    counts.len()
}

#[task(trigger_rule = "one_failed", retries = 0)]
async fn alert() {}

#[task(trigger_rule = "none_failed_min_one_success")]
async fn tidy() {}

/// Odd on purpose: every option Airflow has a place for, in a time zone with summer time,
/// ids that are Python keywords or not identifiers, "quotes" and a backslash \ in the doc.
#[dag(
    schedule = "30 6 * * 1-5",
    start_date = "2024-03-29T06:00:00",
    end_date = "2025-12-31",
    timezone = "Europe/Amsterdam",
    catchup = true,
    max_active_runs = 2,
    max_active_tasks = 4,
    tags = ["odd \"quoted\"", "ünï", "back\\slash"],
    retries = 1
)]
fn odd_options() {
    let rows = extract();
    let p = prefix().task_id("class");
    let counts = load.partial(p).expand(rows);
    let total = report(counts);
    let a = alert().task_id("alert-on.failure");
    total >> a;
    let t = tidy().task_id("1st");
    [rows, a] >> t;
}

/// A weekly schedule in a time zone, with no start date, which Airflow refuses.
#[dag(schedule = "@weekly", timezone = "Asia/Kolkata", catchup = false)]
fn zoned_without_start() {
    tidy();
}

/// A preset Airflow spells its own way, in a time zone, from a start date at midnight.
#[dag(
    schedule = "@annually",
    start_date = "2023-01-01",
    timezone = "Asia/Kolkata",
    catchup = true
)]
fn yearly_in_kolkata() {
    tidy();
}

#[task]
async fn shrink(n: usize) -> usize {
    n / 2
}

#[task]
async fn sizes() -> Vec<usize> {
    vec![1, 2]
}

#[task]
async fn double(n: usize) -> usize {
    n * 2
}

#[dag(schedule = None)]
fn maps_over_mapped() {
    let doubled = double.expand(sizes());
    shrink.expand(doubled);
}

fn every_dag() -> Vec<Dag> {
    let mut dags = dags::all();
    dags.push(odd_options());
    dags.push(yearly_in_kolkata());
    dags
}

#[test]
fn the_mapped_rocket_dag_exports_as_in_the_snapshot() {
    let binary = Binary::Absolute("/opt/rocket-dag/rocket-dag".into());
    let file = dag_file(&dags::listing_2_10_mapped::listing_2_10_mapped(), &binary).unwrap();
    // Same DAG, same bytes: no dates, hashes or map orders in the file.
    let again = dag_file(&dags::listing_2_10_mapped::listing_2_10_mapped(), &binary).unwrap();
    assert_eq!(file, again);
    assert!(file.starts_with(&format!(
        "{GENERATED_MARK} {} (`airflow export`) from DAG `listing_2_10_mapped` of the binary\n\
         # /opt/rocket-dag/rocket-dag\n",
        env!("CARGO_PKG_VERSION")
    )));
    insta::assert_snapshot!("listing_2_10_mapped_airflow", file);
}

#[test]
fn what_airflow_cannot_express_fails_the_export() {
    let err = dag_file(&maps_over_mapped(), &Binary::Absolute("/x".into())).unwrap_err();
    assert_eq!(
        err,
        ExportError::MapsOverMapped {
            dag: "maps_over_mapped".into(),
            task: "shrink".into(),
            upstream: "double".into(),
        }
    );
    assert!(
        err.to_string()
            .contains("`shrink` maps over the output of `double`")
    );
    let err = dag_file(&zoned_without_start(), &Binary::Absolute("/x".into())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "DAG `zoned_without_start`: Airflow needs a start_date for a scheduled DAG (schedule \
         `@weekly`): add `start_date = \"YYYY-MM-DD\"` to its #[dag(...)]"
    );
    for bad in ["", "rocket\ndag", "a\u{1b}[2Jb"] {
        let err = dag_file(&odd_options(), &Binary::BesideTheFile(bad.into())).unwrap_err();
        assert!(matches!(err, ExportError::Binary { .. }), "{bad:?}: {err}");
    }
}

#[test]
fn python_reads_back_every_string_as_it_was() {
    let Some(airflow) = Airflow::new("python_reads_back_every_string_as_it_was") else {
        return;
    };
    let hostile = [
        "plain",
        "\"double\" and 'single' quotes, \"\"\" and '''",
        "back\\slash\\",
        "line\nbreaks\r\nand\ttabs",
        "nul \0 and escape \u{1b}[31m red",
        "{{ run_id }} $(rm -rf /) `id` ${HOME}",
        "line\u{2028}separator and \u{2029} paragraph",
        "right-to-left \u{202e}override\u{202c} and isolate \u{2066}x\u{2069}",
        "bom \u{feff} and rtl mark \u{200f}",
        "ünïcödé, 日本語, 🚀",
        "ends with a backslash \\",
    ];
    let mut src = String::from("import json\nVALUES = [\n");
    for h in hostile {
        let lit = py_str(h);
        // Nothing that could hide or reorder text reaches the file as itself.
        assert!(
            !lit.chars().any(|c| c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{202e}' | '\u{2066}' | '\u{feff}'
                )),
            "{lit:?}"
        );
        src.push_str(&format!("    {lit},\n"));
    }
    src.push_str("]\nprint(json.dumps(VALUES))\n");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("values.py");
    std::fs::write(&script, src).unwrap();
    let out = airflow.tool("python").arg(&script).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let back: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(back, hostile);
}

/// The seconds of a duration, as Airflow's `timedelta.total_seconds()`.
fn secs(d: std::time::Duration) -> Value {
    serde_json::json!(d.as_secs_f64())
}

fn iso(d: chrono::DateTime<chrono::Utc>) -> Value {
    Value::String(d.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
}

/// What Airflow should read of `dag`, in the form `describe.py` prints.
fn expected(dag: &Dag) -> Value {
    use rocket_dag::schedule::{Schedule, airflow_local};
    let o = dag.options();
    let tz = o.timezone;
    let (timetable, class, zone) = match &o.schedule {
        Schedule::None => (Value::Null, "NullTimetable", Value::Null),
        Schedule::Once => ("@once".into(), "OnceTimetable", Value::Null),
        Schedule::Cron(c) => {
            let expr = c.expr();
            // Airflow's names for the aliases.
            let expr = match expr {
                "@annually" => "@yearly",
                "@midnight" => "@daily",
                e => e,
            };
            (expr.into(), "CronDataIntervalTimetable", tz.name().into())
        }
        other => panic!("not in these DAGs: {}", other.as_str()),
    };
    let doc = o.description.trim();
    let mut tasks = serde_json::Map::new();
    for (i, t) in dag.tasks().iter().enumerate() {
        let to = t.options();
        let mut upstream: BTreeSet<&str> =
            t.inputs().iter().map(|&u| dag.tasks()[u].id()).collect();
        upstream.extend(
            dag.edges()
                .iter()
                .filter(|e| e.to == i)
                .map(|e| dag.tasks()[e.from].id()),
        );
        tasks.insert(
            t.id().to_owned(),
            serde_json::json!({
                "mapped": t.is_mapped(),
                "retries": to.retries,
                "retry_delay": secs(to.retry_delay),
                "retry_exponential_backoff": to.retry_exponential_backoff,
                "max_retry_delay": to.max_retry_delay.map(secs),
                "execution_timeout": to.execution_timeout.map(secs),
                "trigger_rule": to.trigger_rule.as_str(),
                "upstream": upstream,
            }),
        );
    }
    let mut intervals = Vec::new();
    if o.catchup {
        let now = chrono::Utc::now();
        let mut last = None;
        for _ in 0..2 {
            let Some(i) = rocket_dag::timetable::next_interval(o, last.as_ref(), now) else {
                break;
            };
            intervals.push(serde_json::json!([iso(i.start), iso(i.end)]));
            last = Some(i);
        }
    }
    serde_json::json!({
        "description": doc.lines().map(str::trim).find(|l| !l.is_empty()),
        "doc_md": if doc.is_empty() { None } else { Some(doc) },
        "schedule": timetable,
        "timetable_class": class,
        "timezone": zone,
        "start_date": o.start_date.map(|d| iso(airflow_local(d, tz))),
        "end_date": o.end_date.map(|d| iso(airflow_local(d, tz))),
        "catchup": o.catchup,
        "max_active_runs": o.max_active_runs,
        "max_active_tasks": o.max_active_tasks,
        "tags": o.tags,
        "tasks": tasks,
        "intervals": intervals,
    })
}

#[test]
fn airflow_reads_every_option_task_and_dependency_back() {
    let Some(airflow) = Airflow::new("airflow_reads_every_option_task_and_dependency_back") else {
        return;
    };
    let dags = every_dag();
    let folder = airflow.dags_folder();
    for dag in &dags {
        let file = dag_file(dag, &Binary::Absolute(BIN.into())).unwrap();
        std::fs::write(folder.join(format!("{}.py", dag.id())), file).unwrap();
    }
    let files: Vec<_> = dags
        .iter()
        .map(|d| folder.join(format!("{}.py", d.id())))
        .collect();

    let out = airflow
        .tool("python")
        .args(["-m", "py_compile"])
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success(), "py_compile: {}", text(&out.stderr));
    // Pyflakes, pycodestyle's errors and warnings (line length at 100), bugbear, and the
    // default rules: nothing to report.
    let out = airflow
        .tool("ruff")
        .args(["check", "--no-cache", "--isolated", "--line-length", "100"])
        .args(["--select", "E,F,W,B"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ruff: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/airflow/describe.py");
    let out = airflow
        .tool("python")
        .arg(script)
        .arg(&folder)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let doc: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    assert_eq!(doc["import_errors"], serde_json::json!({}), "{stdout}");
    assert_eq!(
        doc["dags"].as_object().unwrap().len(),
        dags.len(),
        "{stdout}"
    );
    for dag in &dags {
        let mut theirs = doc["dags"][dag.id()].clone();
        let want = expected(dag);
        // The task's doc is its own, then what it reads and writes.
        for (i, t) in dag.tasks().iter().enumerate() {
            let got = theirs["tasks"][t.id()]
                .as_object_mut()
                .unwrap_or_else(|| panic!("{}: no task {}", dag.id(), t.id()))
                .remove("doc_md")
                .unwrap();
            let own = t.doc().trim();
            match got.as_str() {
                Some(d) => assert!(d.starts_with(own), "{}.{}: {d:?}", dag.id(), t.id()),
                None => assert!(
                    own.is_empty() && t.spec().reads.is_empty() && t.spec().writes.is_empty(),
                    "{}: task {i} lost its doc",
                    dag.id()
                ),
            }
        }
        assert_eq!(
            theirs,
            want,
            "{}: Airflow's reading, then the DAG's",
            dag.id()
        );
    }
    // The odd one, spelled out: the summer-time start and the mapping.
    let odd = &doc["dags"]["odd_options"];
    assert_eq!(odd["start_date"], "2024-03-29T05:00:00+00:00");
    assert_eq!(
        odd["intervals"],
        serde_json::json!([
            ["2024-03-29T05:30:00+00:00", "2024-04-01T04:30:00+00:00"],
            ["2024-04-01T04:30:00+00:00", "2024-04-02T04:30:00+00:00"]
        ])
    );
    assert_eq!(odd["tasks"]["load"]["mapped"], true);
    assert_eq!(
        odd["tasks"]["load"]["upstream"],
        serde_json::json!(["class", "extract"])
    );
    assert_eq!(odd["tasks"]["load"]["retry_delay"], 1.5);
    assert_eq!(
        odd["tasks"]["1st"]["upstream"],
        serde_json::json!(["alert-on.failure", "extract"])
    );
    let doc_md = odd["tasks"]["extract"]["doc_md"].as_str().unwrap();
    assert!(
        doc_md.contains("\"rows\" \\ with a backslash and a `{{ run_id }}`"),
        "{doc_md}"
    );
    assert!(doc_md.ends_with("Layer: source."), "{doc_md}");
    let yearly = &doc["dags"]["yearly_in_kolkata"];
    assert_eq!(yearly["schedule"], "@yearly");
    assert_eq!(
        yearly["intervals"][0],
        serde_json::json!(["2022-12-31T18:30:00+00:00", "2023-12-31T18:30:00+00:00"])
    );
}

fn export(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["airflow", "export"])
        .args(args)
        .output()
        .unwrap()
}

fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_command_writes_each_dag_once_and_never_someone_else_s_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("dags");
    let out_arg = out_dir.to_str().unwrap();

    // Every DAG, the same bytes each time.
    let out = export(&["--out", out_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = files(&out_dir);
    let mut ids: Vec<String> = dags::all()
        .iter()
        .map(|d| format!("{}.py", d.id()))
        .collect();
    ids.sort();
    assert_eq!(first.iter().map(|f| f.0.clone()).collect::<Vec<_>>(), ids);
    assert!(export(&["--out", out_arg]).status.success());
    assert_eq!(files(&out_dir), first);
    // Which binary: this one, by its absolute path.
    let me = std::fs::canonicalize(BIN).unwrap();
    let head = String::from_utf8_lossy(&first[0].1).into_owned();
    assert!(head.starts_with(GENERATED_MARK), "{head}");
    assert!(
        head.contains(&format!("BINARY = {}", py_str(me.to_str().unwrap()))),
        "{head}"
    );

    // A file someone else wrote is kept, and nothing else is written either.
    let theirs = out_dir.join("listing_2_10.py");
    std::fs::write(&theirs, "print('my own DAG')\n").unwrap();
    std::fs::remove_file(out_dir.join("rocket_launches.py")).unwrap();
    let out = export(&["listing_2_10", "rocket_launches", "--out", out_arg]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&theirs).unwrap(), b"print('my own DAG')\n");
    assert!(!out_dir.join("rocket_launches.py").exists());
    let out = export(&["listing_2_10", "--out", out_arg, "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        std::fs::read(&theirs)
            .unwrap()
            .starts_with(GENERATED_MARK.as_bytes())
    );

    // An unknown DAG: an error naming it, and no folder made.
    let elsewhere = dir.path().join("elsewhere");
    let out = export(&["listing_2_1O", "--out", elsewhere.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("listing_2_1O"),
        "{}",
        text(&out.stderr)
    );
    assert!(!elsewhere.exists());

    // The binary beside the file, as in Airflow's Docker image.
    let out = export(&["listing_2_10", "--out", out_arg, "--binary", "./rocket-dag"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let file = std::fs::read_to_string(&theirs).unwrap();
    assert!(
        file.contains("os.path.dirname(os.path.abspath(__file__)), \"rocket-dag\""),
        "{file}"
    );
    assert!(file.contains("# rocket-dag (beside this file)\n"), "{file}");
}
