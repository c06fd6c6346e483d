//! DAG, task and run ids: what they may contain, checked by one rule each, here.
//!
//! Ids become directory names (`logs/dag_id=…/run_id=…/task_id=…/`, `data/<dag_id>/`), so an
//! id that could name a parent directory or another folder (`..`, `a/b`) or carry control
//! characters into a terminal is refused wherever one enters: the `#[dag]` macro and
//! `rocket_dag::DagBuilder`, run requests, the command line (as clap value parsers), and the store
//! before it records anything. The rules are Airflow's: `^[A-Za-z0-9_.-]+$` for DAG and task ids
//! (its `KEY_REGEX`, in ASCII), `^[A-Za-z0-9_.~:+-]+$` for run ids (its default
//! `allowed_run_id_pattern`), at most 250 characters; and an id made of dots only is refused.

use std::fmt;

/// Longest id accepted (Airflow's `ID_LEN`).
pub const MAX_LEN: usize = 250;

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A DAG.
    Dag,
    /// A task.
    Task,
    /// A DAG run.
    Run,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::Dag => "DAG",
            IdKind::Task => "task",
            IdKind::Run => "run",
        })
    }
}

/// An id that breaks its rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id `{}`: {reason}", crate::escape::control(.id))]
pub struct InvalidId {
    /// What it names.
    pub kind: IdKind,
    /// The id as given.
    pub id: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Checks `id` against the rule of its kind.
pub fn check(kind: IdKind, id: &str) -> Result<(), InvalidId> {
    let err = |reason| {
        Err(InvalidId {
            kind,
            id: id.to_owned(),
            reason,
        })
    };
    if id.is_empty() {
        return err("it is empty");
    }
    if id.len() > MAX_LEN {
        return err("it is longer than 250 characters");
    }
    let allowed = |c: char| match kind {
        IdKind::Dag | IdKind::Task => c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'),
        IdKind::Run => c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '~' | ':' | '+'),
    };
    if !id.chars().all(allowed) {
        return err(match kind {
            IdKind::Dag | IdKind::Task => "use letters, digits, `_`, `-` and `.`",
            IdKind::Run => "use letters, digits, `_`, `-`, `.`, `~`, `:` and `+`",
        });
    }
    if id.chars().all(|c| c == '.') {
        return err("an id of dots only would name a directory");
    }
    Ok(())
}

/// Checks a DAG id.
pub fn dag(id: &str) -> Result<(), InvalidId> {
    check(IdKind::Dag, id)
}

/// Checks a task id.
pub fn task(id: &str) -> Result<(), InvalidId> {
    check(IdKind::Task, id)
}

/// Checks a run id.
pub fn run(id: &str) -> Result<(), InvalidId> {
    check(IdKind::Run, id)
}

/// A clap value parser for DAG ids: `#[arg(value_parser = ids::parse_dag)]`.
pub fn parse_dag(id: &str) -> Result<String, InvalidId> {
    dag(id).map(|()| id.to_owned())
}

/// A clap value parser for task ids.
pub fn parse_task(id: &str) -> Result<String, InvalidId> {
    task(id).map(|()| id.to_owned())
}

/// A clap value parser for run ids (`latest` passes: it is a valid id too).
pub fn parse_run(id: &str) -> Result<String, InvalidId> {
    run(id).map(|()| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn airflow_ids_pass() {
        for id in ["listing_2_10", "a.b-c_d", "x", &"a".repeat(250)] {
            dag(id).unwrap();
            task(id).unwrap();
        }
        for id in [
            "manual__2024-01-01T00:00:00+00:00",
            "scheduled__2024-01-01T00:00:00.123456+00:00",
            "backfill__2024-01-01T00:00:00Z",
            "my~run",
        ] {
            run(id).unwrap();
        }
    }

    #[test]
    fn ids_that_could_escape_or_inject_are_refused() {
        let bad_runs = [
            "",
            ".",
            "..",
            "...",
            "manual__2024-01-01T00:00:00+00:00/../../../../outside",
            "a/b",
            "a\\b",
            "a\0b",
            "a\nb",
            "a\x1b[31mb",
            "a b",
            "ü",
        ];
        for id in bad_runs {
            let e = run(id).unwrap_err();
            assert_eq!(e.kind, IdKind::Run);
            // The message never carries the control characters themselves.
            assert!(!e.to_string().chars().any(|c| c.is_control()), "{e}");
        }
        for id in ["", "..", "a:b", "a+b", "a/b", &"a".repeat(251)] {
            assert!(dag(id).is_err(), "{id}");
            assert!(task(id).is_err(), "{id}");
        }
        assert!(
            run(&"a".repeat(251))
                .unwrap_err()
                .to_string()
                .contains("250")
        );
    }
}
