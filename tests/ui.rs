//! Compile-time checks of `#[task]` and `#[dag]`: every rejected program has a reviewed `.stderr`.
//!
//! `tests/ui/rules/table.txt` holds schedules and durations that the macros and the runtime
//! must judge alike: the cases under `tests/ui/rules/` are generated from it (and checked to be
//! up to date), trybuild compiles them, and [`runtime_agrees_with_the_macros`] feeds the same
//! rows to the runtime's parsers and finds each runtime message in the compiler's output.

use std::fmt::Write as _;
use std::path::Path;

#[test]
fn ui() {
    rules_cases_are_generated_from_the_table();
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/rules/good_*.rs");
    t.compile_fail("tests/ui/rules/bad_*.rs");
}

const RULES: &str = "tests/ui/rules";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Schedule,
    Duration,
}

struct Row {
    kind: Kind,
    text: String,
    ok: bool,
}

fn table() -> Vec<Row> {
    let text = std::fs::read_to_string(Path::new(RULES).join("table.txt")).unwrap();
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(" | ").collect();
        let [kind, value, verdict] = cells[..] else {
            panic!("table.txt:{}: expected `kind | text | ok|bad`", n + 1)
        };
        rows.push(Row {
            kind: match kind.trim() {
                "schedule" => Kind::Schedule,
                "duration" => Kind::Duration,
                other => panic!("table.txt:{}: unknown kind `{other}`", n + 1),
            },
            // The separator's spaces are the cell's edges, so an empty text is `|  |`.
            text: value.to_owned(),
            ok: match verdict.trim() {
                "ok" => true,
                "bad" => false,
                other => panic!("table.txt:{}: expected ok or bad, found `{other}`", n + 1),
            },
        });
    }
    rows
}

/// One program per kind and verdict: each row becomes its own `#[dag]` (a schedule) or
/// `#[task]` (a retry delay), so a bad row gets its own error at its own string.
fn program(kind: Kind, ok: bool, rows: &[&Row]) -> String {
    let mut out = String::from(
        "//! Generated from table.txt by tests/ui.rs (`UPDATE_RULES=1`); do not edit.\n\
         #![allow(dead_code)]\n\
         use rocket_dag::prelude::*;\n",
    );
    if kind == Kind::Schedule {
        out.push_str("\n#[task]\nasync fn work() -> Result<(), TaskError> {\n    Ok(())\n}\n");
    }
    for (i, row) in rows.iter().enumerate() {
        let text = format!("{:?}", row.text);
        match kind {
            Kind::Schedule => write!(
                out,
                "\n#[dag(schedule = {text}, start_date = \"2024-01-01\")]\nfn dag_{i}() {{\n    work();\n}}\n"
            ),
            Kind::Duration => write!(
                out,
                "\n#[task(retries = 1, retry_delay = {text})]\nasync fn task_{i}() -> Result<(), TaskError> {{\n    Ok(())\n}}\n"
            ),
        }
        .unwrap();
    }
    out.push_str("\nfn main() {\n");
    if ok && kind == Kind::Schedule {
        for i in 0..rows.len() {
            writeln!(out, "    let _ = dag_{i}();").unwrap();
        }
    }
    out.push_str("}\n");
    out
}

fn file_name(kind: Kind, ok: bool) -> String {
    let kind = match kind {
        Kind::Schedule => "schedules",
        Kind::Duration => "durations",
    };
    format!("{}_{kind}.rs", if ok { "good" } else { "bad" })
}

/// The generated cases equal what the table gives; `UPDATE_RULES=1` rewrites them.
fn rules_cases_are_generated_from_the_table() {
    let rows = table();
    let update = std::env::var_os("UPDATE_RULES").is_some();
    for kind in [Kind::Schedule, Kind::Duration] {
        for ok in [true, false] {
            let selected: Vec<&Row> = rows
                .iter()
                .filter(|r| r.kind == kind && r.ok == ok)
                .collect();
            assert!(
                !selected.is_empty(),
                "the table needs {kind:?} rows that are ok={ok}"
            );
            let path = Path::new(RULES).join(file_name(kind, ok));
            let want = program(kind, ok, &selected);
            if update {
                std::fs::write(&path, &want).unwrap();
            } else {
                let have = std::fs::read_to_string(&path).unwrap_or_default();
                assert!(
                    have == want,
                    "{} is not what table.txt gives: regenerate with \
                     `UPDATE_RULES=1 TRYBUILD=overwrite cargo test --test ui` and review the diff",
                    path.display()
                );
            }
        }
    }
}

/// The runtime's parsers accept exactly the rows the macros accept, and for a rejected row
/// the compiler printed the runtime's own message (line by line: rustc indents the
/// continuation lines of a message).
#[test]
fn runtime_agrees_with_the_macros() {
    let rows = table();
    for kind in [Kind::Schedule, Kind::Duration] {
        let stderr_path = Path::new(RULES).join(file_name(kind, false).replace(".rs", ".stderr"));
        let stderr = std::fs::read_to_string(&stderr_path).unwrap();
        for row in rows.iter().filter(|r| r.kind == kind) {
            let result = match kind {
                Kind::Schedule => rocket_dag::Schedule::parse(&row.text)
                    .map(drop)
                    .map_err(|e| e.to_string()),
                Kind::Duration => rocket_dag::duration::parse(&row.text)
                    .map(drop)
                    .map_err(|e| e.to_string()),
            };
            match (row.ok, result) {
                (true, Ok(())) => {}
                (true, Err(e)) => panic!(
                    "the runtime rejects {kind:?} {:?} that the table says is ok: {e}",
                    row.text
                ),
                (false, Ok(())) => panic!(
                    "the runtime accepts {kind:?} {:?} that the table says is bad",
                    row.text
                ),
                (false, Err(message)) => {
                    for line in message.lines() {
                        assert!(
                            stderr.contains(line.trim()),
                            "{}: the compiler did not say what the runtime says of {:?}: {line}",
                            stderr_path.display(),
                            row.text
                        );
                    }
                }
            }
        }
    }
}
