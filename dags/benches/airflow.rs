//! rocket-dag DAGs through Apache Airflow 2.8.1 on this machine, beside Airflow's own tasks.
//! Needs `ROCKET_DAG_AIRFLOW_VENV` (`scripts/airflow/install.sh`); says so and measures nothing
//! without it.
//!
//! * `tasks_run/empty_operator`: `airflow tasks run --local` of an EmptyOperator, what Airflow's
//!   worker spends on one task instance that does nothing (its processes, parsing the DAG file,
//!   its metadata database);
//! * `tasks_run/rocket_dag_noop`: the same command for the exported no-op task `image_urls` of
//!   `listing_2_10_mapped`, so Airflow's cost plus what `rocket-dag tasks run` adds (the
//!   `worker` benchmark measures that part alone);
//! * `dags_test/listing_2_10`: `airflow dags test` of the exported `listing_2_10` (each task a
//!   `tasks run` process), 100 launches with 200 KiB pictures at 20 ms latency from a local
//!   server;
//! * `dags_test/book_listing_2_10`: the book's Python DAG (`book_listing_2_10.py`: curl, a
//!   `requests` loop, a bash notify) through the same command and server.
//!
//! `cargo bench -p dags --bench airflow` (about five minutes, most of it Airflow's).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use dags::mock::{MockConfig, MockServer};

const BIN: &str = env!("CARGO_BIN_EXE_rocket-dag");
const LAUNCHES: usize = 100;

const EMPTY_DAG: &str = r#"import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("bench_empty", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    EmptyOperator(task_id="noop")
"#;

struct Airflow {
    venv: PathBuf,
    home: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Airflow {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.venv.join("bin/airflow"));
        cmd.args(args)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .current_dir(self.home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn ok(&self, args: &[&str]) {
        let out = self.cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "airflow {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn data(&self) -> PathBuf {
        self.home.path().join("data")
    }
}

fn setup(server: &MockServer) -> Option<Airflow> {
    let Some(venv) = std::env::var_os("ROCKET_DAG_AIRFLOW_VENV") else {
        eprintln!(
            "airflow benchmark skipped: set ROCKET_DAG_AIRFLOW_VENV=$(scripts/airflow/install.sh)"
        );
        return None;
    };
    let home = tempfile::tempdir().unwrap();
    let dags = home.path().join("dags");
    std::fs::create_dir_all(&dags).unwrap();
    std::fs::write(dags.join("bench_empty.py"), EMPTY_DAG).unwrap();
    let book = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/book_listing_2_10.py");
    std::fs::copy(book, dags.join("book_listing_2_10.py")).unwrap();
    let status = Command::new(BIN)
        .args([
            "airflow",
            "export",
            "listing_2_10",
            "listing_2_10_mapped",
            "--out",
        ])
        .arg(&dags)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let h = home.path().display().to_string();
    let airflow = Airflow {
        venv: PathBuf::from(venv),
        env: vec![
            ("AIRFLOW_HOME", h.clone()),
            ("AIRFLOW__CORE__DAGS_FOLDER", dags.display().to_string()),
            ("AIRFLOW__CORE__LOAD_EXAMPLES", "False".into()),
            ("PYTHONWARNINGS", "ignore".into()),
            ("ROCKET_DAG_HOME", format!("{h}/rocket-dag")),
            ("ROCKET_LAUNCHES_URL", server.launches_url()),
            ("BOOK_LAUNCHES_URL", server.launches_url()),
            ("BOOK_DATA_DIR", format!("{h}/data")),
        ],
        home,
    };
    std::fs::create_dir_all(airflow.data()).unwrap();
    airflow.ok(&["db", "migrate"]);
    airflow.ok(&["dags", "reserialize"]);
    Some(airflow)
}

/// `airflow tasks run --local` of `dag.task` in run `bench`, again and again.
fn tasks_run(c: &mut Criterion, airflow: &Airflow, name: &str, dag: &str, task: &str) {
    let mut group = c.benchmark_group("tasks_run");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(30));
    group.bench_function(name, |b| {
        b.iter(|| {
            airflow.ok(&["tasks", "run", dag, task, "bench", "--local", "--force"]);
        })
    });
    group.finish();
}

/// `airflow dags test` of `dag`, a new logical date each time, with no picture on disk.
fn dags_test(c: &mut Criterion, airflow: &Airflow, dag: &str, images: &Path) {
    let mut group = c.benchmark_group("dags_test");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(60));
    let mut day = 0u32;
    group.bench_function(dag, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let _ = std::fs::remove_dir_all(images);
                day += 1;
                let date = format!("2024-{:02}-{:02}", 1 + day / 28, 1 + day % 28);
                let start = Instant::now();
                airflow.ok(&["dags", "test", dag, &date]);
                total += start.elapsed();
                let n = std::fs::read_dir(images).map(|d| d.count()).unwrap_or(0);
                assert!(n >= LAUNCHES, "{dag}: {n} pictures");
            }
            total
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        MockServer::start(
            MockConfig::default()
                .with_launches_json(dags::mock::repeated_launches(LAUNCHES))
                .with_image_bytes(200 * 1024)
                .with_latency(Duration::from_millis(20)),
        )
        .await
        .unwrap()
    });
    let Some(airflow) = setup(&server) else {
        return;
    };

    airflow.ok(&["dags", "trigger", "bench_empty", "-r", "bench"]);
    tasks_run(c, &airflow, "empty_operator", "bench_empty", "noop");
    // The no-op task's upstream output must be in the history first.
    airflow.ok(&["dags", "trigger", "listing_2_10_mapped", "-r", "bench"]);
    airflow.ok(&[
        "tasks",
        "run",
        "listing_2_10_mapped",
        "download_launches",
        "bench",
        "--local",
    ]);
    tasks_run(
        c,
        &airflow,
        "rocket_dag_noop",
        "listing_2_10_mapped",
        "image_urls",
    );

    let rocket_images = airflow
        .home
        .path()
        .join("rocket-dag/data/listing_2_10/images");
    dags_test(c, &airflow, "listing_2_10", &rocket_images);
    dags_test(
        c,
        &airflow,
        "book_listing_2_10",
        &airflow.data().join("images"),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
