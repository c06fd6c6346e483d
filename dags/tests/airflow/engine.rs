//! Apache Airflow 2.8.1 for the tests: a virtual environment (`ROCKET_DAG_AIRFLOW_VENV`, made by
//! `scripts/airflow/install.sh`), an `AIRFLOW_HOME` of the test's own, the DAG files that
//! `rocket-dag airflow export` writes, and what Airflow's metadata says of a run.
//!
//! Without `ROCKET_DAG_AIRFLOW_VENV` the tests that need Airflow say so and pass, unless
//! `ROCKET_DAG_REQUIRE_AIRFLOW=1` (CI) makes them fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_rocket-dag");

/// One Airflow installation and home.
pub struct Airflow {
    venv: PathBuf,
    home: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Airflow {
    /// Airflow with its metadata in SQLite under a new `AIRFLOW_HOME` (what `airflow dags
    /// test` needs), or `None` when no Airflow is installed and none is required.
    pub fn new(test: &str) -> Option<Airflow> {
        let venv = match std::env::var_os("ROCKET_DAG_AIRFLOW_VENV") {
            Some(v) => PathBuf::from(v),
            None => {
                assert!(
                    std::env::var("ROCKET_DAG_REQUIRE_AIRFLOW").as_deref() != Ok("1"),
                    "ROCKET_DAG_REQUIRE_AIRFLOW=1 but ROCKET_DAG_AIRFLOW_VENV is not set: run \
                     scripts/airflow/install.sh"
                );
                eprintln!(
                    "{test}: skipped: set ROCKET_DAG_AIRFLOW_VENV=$(scripts/airflow/install.sh) \
                     to run it against Apache Airflow 2.8.1"
                );
                return None;
            }
        };
        assert!(
            venv.join("bin/airflow").exists(),
            "no Airflow in {}: run scripts/airflow/install.sh",
            venv.display()
        );
        let home = tempfile::tempdir().unwrap();
        let dags = home.path().join("dags");
        std::fs::create_dir_all(&dags).unwrap();
        let env = vec![
            ("AIRFLOW_HOME".into(), home.path().display().to_string()),
            (
                "AIRFLOW__CORE__DAGS_FOLDER".into(),
                dags.display().to_string(),
            ),
            ("AIRFLOW__CORE__LOAD_EXAMPLES".into(), "False".into()),
            // Keep Airflow's warnings (pendulum, graphviz) out of the output the tests read.
            ("PYTHONWARNINGS".into(), "ignore".into()),
            (
                "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG".into(),
                "False".into(),
            ),
            ("NO_COLOR".into(), "1".into()),
        ];
        Some(Airflow { venv, home, env })
    }

    /// Sets an Airflow setting (or any variable) for every command from now on.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.into()));
        self
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn dags_folder(&self) -> PathBuf {
        self.home.path().join("dags")
    }

    /// A program of Airflow's virtual environment (`python`, `ruff`), in this home.
    pub fn tool(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.venv.join("bin").join(name));
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.home.path());
        cmd
    }

    /// `airflow <args>` in this home.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.venv.join("bin/airflow"));
        cmd.args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.home.path());
        cmd
    }

    /// `airflow <args>`, which must succeed.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "airflow {args:?} failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        out
    }

    /// Creates Airflow's metadata database (`airflow db migrate`).
    pub fn migrate(&self) {
        self.ok(&["db", "migrate"]);
    }

    /// `rocket-dag airflow export` of `dags` into Airflow's DAG folder.
    pub fn export(&self, dags: &[&str]) {
        let out = Command::new(BIN)
            .args(["airflow", "export"])
            .args(dags)
            .arg("--out")
            .arg(self.dags_folder())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "export failed: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }

    /// What Airflow's metadata says of a run: its state, and each instance's state and try
    /// number by label (`task`, `task[3]`).
    pub fn run(&self, dag: &str, run_id: &str) -> (Option<String>, BTreeMap<String, String>) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/airflow/states.py");
        let out = Command::new(self.venv.join("bin/python"))
            .args([script, dag, run_id])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let doc: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
        let tis = doc["tis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let (task, index) = (t[0].as_str().unwrap(), t[1].as_i64().unwrap());
                let label = if index < 0 {
                    task.to_owned()
                } else {
                    format!("{task}[{index}]")
                };
                let state = t[2].as_str().unwrap_or("none");
                (label, format!("{state}#{}", t[3].as_i64().unwrap_or(0)))
            })
            .collect();
        (doc["state"].as_str().map(str::to_owned), tis)
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What the rocket-dag history at `home` (or `ROCKET_DAG_DATABASE_URL` if `url`) says of a run,
/// in the same form as [`Airflow::run`].
pub async fn history(
    home: &Path,
    url: Option<&str>,
    dag: &str,
    run_id: &str,
) -> (Option<String>, BTreeMap<String, String>) {
    use rocket_dag::store::Store;
    let store = match url {
        Some(url) => Store::open(url).await.unwrap(),
        None => Store::open_home(home).await.unwrap(),
    };
    let run = store.get_run(dag, run_id).await.unwrap();
    let tis = store.task_instances(dag, run_id).await.unwrap();
    store.close().await;
    let mut latest: BTreeMap<String, &rocket_dag::store::TaskInstanceRecord> = BTreeMap::new();
    for t in &tis {
        let e = latest.entry(t.label()).or_insert(t);
        if t.try_number > e.try_number {
            *e = t;
        }
    }
    let tis = latest
        .into_iter()
        .map(|(label, t)| (label, format!("{}#{}", t.state.as_str(), t.try_number)))
        .collect();
    (run.map(|r| r.state.as_str().to_owned()), tis)
}
