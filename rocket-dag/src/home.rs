//! Where rocket-dag keeps its files, in Airflow's layout:
//!
//! ```text
//! <home>/rocket-dag.db                                   the run history (SQLite)
//! <home>/data/<dag_id>/                                  what a DAG's tasks write
//! <home>/logs/dag_id=<dag>/run_id=<run>/task_id=<task>/[map_index=<i>/]attempt=<n>.log
//! <home>/exports/                                        pictures, reports and archives by default
//! ```
//!
//! Every path built from ids is built here, after [`crate::ids`] checked them, so no id can
//! lead outside the home.

use std::path::{Path, PathBuf};

use crate::ids::{self, InvalidId};

/// Name of the SQLite file of the run history inside the home directory.
pub const DATABASE_FILE: &str = "rocket-dag.db";

/// The environment variable that sets the home directory.
pub const HOME_ENV: &str = "ROCKET_DAG_HOME";

/// `$ROCKET_DAG_HOME` if set, else `.rocket-dag` in the current directory (so a course project
/// keeps its logs and data next to its code, ready to export).
pub fn default_home() -> PathBuf {
    match std::env::var_os(HOME_ENV) {
        Some(h) if !h.is_empty() => PathBuf::from(h),
        _ => PathBuf::from(".rocket-dag"),
    }
}

/// `<home>/data/<dag_id>/`.
pub fn data_dir(home: &Path, dag: &str) -> Result<PathBuf, InvalidId> {
    ids::dag(dag)?;
    Ok(home.join("data").join(dag))
}

/// `<home>/logs/`.
pub fn logs_dir(home: &Path) -> PathBuf {
    home.join("logs")
}

/// `<home>/logs/dag_id=<dag>/`.
pub fn dag_logs(home: &Path, dag: &str) -> Result<PathBuf, InvalidId> {
    ids::dag(dag)?;
    Ok(logs_dir(home).join(format!("dag_id={dag}")))
}

/// `<home>/logs/dag_id=<dag>/run_id=<run>/`.
pub fn run_logs(home: &Path, dag: &str, run: &str) -> Result<PathBuf, InvalidId> {
    ids::run(run)?;
    Ok(dag_logs(home, dag)?.join(format!("run_id={run}")))
}

/// The folder of a task instance's attempt logs: `…/task_id=<task>/`, plus `map_index=<i>/` for
/// an element of a mapped task.
pub fn task_logs(
    home: &Path,
    dag: &str,
    run: &str,
    task: &str,
    map_index: Option<u32>,
) -> Result<PathBuf, InvalidId> {
    ids::task(task)?;
    let mut dir = run_logs(home, dag, run)?.join(format!("task_id={task}"));
    if let Some(i) = map_index {
        dir.push(format!("map_index={i}"));
    }
    Ok(dir)
}

/// An attempt's log: `<task_logs>/attempt=<n>.log`.
pub fn attempt_log(
    home: &Path,
    dag: &str,
    run: &str,
    task: &str,
    map_index: Option<u32>,
    try_number: u32,
) -> Result<PathBuf, InvalidId> {
    Ok(task_logs(home, dag, run, task, map_index)?.join(format!("attempt={try_number}.log")))
}

/// `<home>/exports/`: where pictures, reports and archives go when no `--out` is given.
pub fn exports_dir(home: &Path) -> PathBuf {
    home.join("exports")
}

/// Whether `path` is, or is inside, something the home keeps (its database and the files
/// SQLite keeps beside it, `data/`, `logs/`): an output written there would overwrite the
/// history it was made from.
pub fn is_kept(home: &Path, path: &Path) -> bool {
    let (Some(home), Some(path)) = (resolve(home), resolve(path)) else {
        return false;
    };
    let db = home.join(DATABASE_FILE);
    let db_name = db.as_os_str().to_string_lossy().into_owned();
    let path_name = path.as_os_str().to_string_lossy();
    path.starts_with(home.join("data"))
        || path.starts_with(home.join("logs"))
        || path == db
        || (path_name.starts_with(&db_name) && path.parent() == db.parent())
}

/// `path` made absolute, with `.` and `..` applied and symbolic links resolved as far as it
/// exists (the rest, not yet created, appended as given).
fn resolve(path: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let abs = std::path::absolute(path).ok()?;
    let mut out = PathBuf::new();
    for part in abs.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => {
                out.push(other);
                if let Ok(real) = out.canonicalize() {
                    out = real;
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_airflows_layout() {
        let home = Path::new("/h");
        assert_eq!(
            attempt_log(home, "d", "manual__x", "t", Some(3), 2).unwrap(),
            Path::new("/h/logs/dag_id=d/run_id=manual__x/task_id=t/map_index=3/attempt=2.log")
        );
        assert_eq!(data_dir(home, "d").unwrap(), Path::new("/h/data/d"));
    }

    #[test]
    fn hostile_ids_build_no_path() {
        let home = Path::new("/h");
        assert!(run_logs(home, "d", "manual__2024/../../../../outside").is_err());
        assert!(run_logs(home, "d", "..").is_err());
        assert!(data_dir(home, "../x").is_err());
        assert!(attempt_log(home, "d", "r", "a/b", None, 1).is_err());
    }

    #[test]
    fn kept_files_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join("data")).unwrap();
        assert!(is_kept(&home, &home.join("rocket-dag.db")));
        assert!(is_kept(&home, &home.join("rocket-dag.db-wal")));
        assert!(is_kept(&home, &home.join("data/x/y.tar.gz")));
        assert!(is_kept(&home, &home.join("logs/new/a.tar.gz")));
        assert!(is_kept(&home, &home.join("data/../rocket-dag.db")));
        assert!(!is_kept(&home, &home.join("exports/a.tar.gz")));
        assert!(!is_kept(&home, &dir.path().join("rocket-dag.db")));
        // Through a symbolic link to the home.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&home, &link).unwrap();
        assert!(is_kept(&home, &link.join("rocket-dag.db")));
    }
}
