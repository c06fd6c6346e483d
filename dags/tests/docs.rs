//! The docs cannot drift from the code: `docs/cli.md` ends with the `--help` of every command,
//! generated from the CLI's clap definitions and compared with what the `rocket-dag` binary
//! prints; every command line the docs show parses; every link between the docs, and every
//! repository path they name, exists.
//!
//! `UPDATE_DOCS=1 cargo test -p dags --test docs` rewrites the generated part of `docs/cli.md`.
//! (The README's quick start is run by `tests/quickstart.rs`.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{CommandFactory, Parser};
use rocket_dag::cli::Cli;

/// The line after which `docs/cli.md` is generated; everything above it is written by hand.
const MARKER: &str = "<!-- Generated from the clap definitions by dags/tests/docs.rs: edit the doc comments in rocket-dag/src/cli/args.rs, then run `UPDATE_DOCS=1 cargo test -p dags --test docs`. -->";

/// The binary the docs describe (`cargo run -p dags -- …`).
const BIN: &str = "rocket-dag";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("dags/ is inside the workspace")
        .to_owned()
}

/// `path` as the repository names it, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The README and every file in `docs/`.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

// ------------------------------------------------------------------------ docs/cli.md from clap

/// The CLI's clap command, as the binary sees it when no variable is set: clap prints an `env`
/// variable's current value in the help, which would make the docs depend on who generates them.
fn command() -> clap::Command {
    let mut cmd = Cli::command();
    let set: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.get_env().is_some_and(|v| std::env::var_os(v).is_some()))
        .map(|a| a.get_id().to_string())
        .collect();
    for id in set {
        cmd = cmd.mut_arg(id, |a| a.hide_env_values(true));
    }
    cmd
}

/// Every command below the binary, depth first in declaration order (`[]`, `["dags"]`,
/// `["dags", "list"]`, …).
fn command_paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    out.push(prefix.to_vec());
    for sub in cmd.get_subcommands() {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_owned());
        command_paths(sub, &path, out);
    }
}

fn all_paths() -> Vec<Vec<String>> {
    let mut out = Vec::new();
    command_paths(&command(), &[], &mut out);
    out
}

/// What `rocket-dag PATH… --help` prints, rendered by clap in this process.
fn help(path: &[String]) -> String {
    let mut args = vec![BIN.to_owned()];
    args.extend(path.iter().cloned());
    args.push("--help".to_owned());
    let err = command()
        .try_get_matches_from(&args)
        .expect_err("--help stops parsing");
    assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "{err}");
    let mut text = err.to_string(); // `to_string` drops the colours
    // Undo `hide_env_values` (see `command`): the binary, spawned without the variable, shows
    // it empty.
    for arg in Cli::command().get_arguments() {
        if let Some(var) = arg.get_env().and_then(|v| v.to_str()) {
            text = text.replace(&format!("[env: {var}]"), &format!("[env: {var}=]"));
        }
    }
    text
}

fn title(path: &[String]) -> String {
    std::iter::once(BIN.to_owned())
        .chain(path.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The generated reference: a heading and the `--help` text of every command.
fn reference() -> String {
    let mut out = String::from(
        "\n\n## Reference: the `--help` of every command\n\n\
         What `cargo run -p dags -- [COMMAND…] --help` prints. The example's `--help` adds its own\n\
         options (see [the example's options](#the-examples-options)).\n",
    );
    for path in all_paths() {
        out.push_str(&format!(
            "\n### `{}`\n\n```text\n{}\n```\n",
            title(&path),
            help(&path).trim_end()
        ));
    }
    out
}

fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let i = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    format!(
        "first difference at line {}:\n  generated: {:?}\n  in docs:   {:?}",
        i + 1,
        e.get(i).unwrap_or(&"<end of file>"),
        a.get(i).unwrap_or(&"<end of file>")
    )
}

#[test]
fn docs_cli_md_is_the_help_of_every_command() {
    let path = repo().join("docs/cli.md");
    let text = read(&path);
    let at = text.find(MARKER).unwrap_or_else(|| {
        panic!(
            "docs/cli.md has lost the line after which it is generated:\n{MARKER}\nput it back at the end of the hand-written part"
        )
    });
    let expected = format!("{}{}", &text[..at + MARKER.len()], reference());
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        text == expected,
        "docs/cli.md differs from the CLI's --help; regenerate it with\n    \
         UPDATE_DOCS=1 cargo test -p dags --test docs\nand review the diff.\n{}",
        first_difference(&expected, &text)
    );
}

/// What the docs show is what the binary prints, for every command (so "differs from the
/// `--help` output" is literal, not a statement about clap).
#[test]
fn the_binary_prints_the_help_the_docs_show() {
    let paths = all_paths();
    assert!(paths.len() > 20, "{paths:?}");
    for path in paths {
        let out = Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
            .args(&path)
            .arg("--help")
            .env_remove(rocket_dag::home::HOME_ENV)
            .env("NO_COLOR", "1")
            .output()
            .expect("the binary runs");
        assert!(out.status.success(), "{path:?}: {out:?}");
        let printed = String::from_utf8(out.stdout).unwrap();
        assert_eq!(printed, help(&path), "`{} --help`", title(&path));
    }
}

// ------------------------------------------------------------------ command lines in the docs

/// Shell words of `line` up to a comment: `'…'` and `"…"` quote, `#` starts a comment.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_default().push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (None, '#') if word.is_none() => break,
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
}

/// The CLI arguments of a documented `cargo run` line, as the `rocket-dag` binary would parse
/// them: `--offline` and the example's `--launches-url URL` removed, and a line of the example
/// without a subcommand read as the `dags test listing_2_10 …` it stands for. `None` for a line
/// that runs no CLI, or elides its arguments with `…`.
fn cli_args(line: &str) -> Option<Vec<String>> {
    if line.contains('…') {
        return None; // "any arguments", not a command line
    }
    let words = shell_words(line);
    let start = words.windows(2).position(|w| w == ["cargo", "run"])?;
    let words = &words[start..];
    let example = words.iter().any(|w| w == "--example");
    if !example && !words.windows(2).any(|w| w == ["-p", "dags"]) {
        return None;
    }
    let dash = words.iter().position(|w| w == "--");
    let mut args: Vec<String> = match dash {
        Some(i) => words[i + 1..].to_vec(),
        None => Vec::new(),
    };
    args.retain(|a| a != "--offline");
    if let Some(i) = args.iter().position(|a| a == "--offline-revision") {
        args.drain(i..(i + 2).min(args.len()));
    }
    if let Some(i) = args.iter().position(|a| a == "--launches-url") {
        args.drain(i..(i + 2).min(args.len()));
    }
    args.retain(|a| !a.starts_with("--launches-url="));
    if example {
        let subcommands: BTreeSet<String> = command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        let has_subcommand = args.iter().any(|a| subcommands.contains(a));
        if !has_subcommand {
            let mut test = vec!["dags".into(), "test".into(), "listing_2_10".into()];
            test.extend(args);
            args = test;
        }
    }
    Some(args)
}

/// The lines of a document's fenced code blocks.
fn fenced_lines(markdown: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if in_fence {
            out.push(line);
        }
    }
    out
}

/// A document without its fenced code blocks (their lines left empty).
fn prose(markdown: &str) -> String {
    let mut out = String::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The code spans of the prose (`…`), a span broken over two lines joined with a space.
fn code_spans(markdown: &str) -> Vec<String> {
    prose(markdown)
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn every_command_line_in_the_docs_parses() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in markdown_files() {
        let text = read(&file);
        let fenced = fenced_lines(&text).into_iter().map(str::to_owned);
        for command_line in fenced.chain(code_spans(&text)) {
            let Some(args) = cli_args(&command_line) else {
                continue;
            };
            checked += 1;
            let argv = std::iter::once(BIN.to_owned()).chain(args.iter().cloned());
            match Cli::try_parse_from(argv) {
                Ok(_) => {}
                // `--help` and the like are fine: the command exists.
                Err(e) if !e.use_stderr() => {}
                Err(e) => wrong.push(format!(
                    "{}: `{}`\n  {}",
                    shown(&file),
                    command_line.trim(),
                    e.to_string().lines().next().unwrap_or_default()
                )),
            }
        }
    }
    assert!(checked > 20, "only {checked} command lines found");
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

// ------------------------------------------------------------------------------ links and paths

/// GitHub's anchor for a heading: lowercase, punctuation dropped (but `-` and `_`), spaces as
/// `-`, and `-1`, `-2`, … after a repeated one.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || !line.starts_with('#') {
            continue;
        }
        let text = line.trim_start_matches('#').trim();
        let slug: String = text
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let mut unique = slug.clone();
        let mut k = 0;
        while seen.contains(&unique) {
            k += 1;
            unique = format!("{slug}-{k}");
        }
        seen.insert(unique);
    }
    seen
}

/// The targets of the inline links `[text](target)` outside code.
fn links(markdown: &str) -> Vec<String> {
    let text = prose(markdown);
    // Code spans may hold `](`.
    let outside_code: String = text.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    let mut rest = outside_code.as_str();
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        let end = rest.find(')').unwrap_or(rest.len());
        out.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    out
}

#[test]
fn every_link_between_the_docs_resolves() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let dir = file.parent().unwrap();
        for target in links(&read(&file)) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                dir.join(path)
            };
            if !resolved.exists() {
                wrong.push(format!("{}: `{target}`: no such file", shown(&file)));
                continue;
            }
            if let Some(anchor) = anchor
                && !anchors(&read(&resolved)).contains(anchor)
            {
                wrong.push(format!(
                    "{}: `{target}`: no heading with anchor `#{anchor}` in {}",
                    shown(&file),
                    shown(&resolved)
                ));
            }
        }
    }
    assert!(checked > 30, "only {checked} links found");
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// Repository paths named in code spans (`dags/src/ll2.rs`, `tests/ui/fail/`) exist: a moved
/// file shows up here instead of in a reader's shell.
#[test]
fn every_repository_path_the_docs_name_exists() {
    const ROOTS: &[&str] = &[
        "rocket-dag/",
        "rocket-dag-macros/",
        "dags/",
        "tests/",
        "examples/",
        "benches/",
        "scripts/",
        "docs/",
        ".ci/",
    ];
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        for span in code_spans(&read(&file)) {
            let is_path = !span.contains(' ')
                && ROOTS.iter().any(|r| span.starts_with(r))
                && !span.contains(['<', '*', '{', '…']);
            if !is_path {
                continue;
            }
            checked += 1;
            if !repo().join(&span).exists() {
                wrong.push(format!("{}: `{span}` does not exist", shown(&file)));
            }
        }
    }
    assert!(checked > 20, "only {checked} paths found");
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn the_checks_read_what_they_should() {
    assert_eq!(
        shell_words("cargo run -- logs x --run 'a b' t   # comment"),
        ["cargo", "run", "--", "logs", "x", "--run", "a b", "t"]
    );
    assert_eq!(
        cli_args("cargo run --example listing_2_10 -- --offline 2024-01-01").unwrap(),
        ["dags", "test", "listing_2_10", "2024-01-01"]
    );
    assert_eq!(
        anchors("# A b\n## `rocket-dag dags`\n```\n# not\n```\n## A b\n## What's new?"),
        BTreeSet::from(["a-b", "a-b-1", "rocket-dag-dags", "whats-new"].map(String::from))
    );
    assert_eq!(
        links("see [a](x.md#y) and `[b](not)` and [c](https://e)\n```\n[d](no)\n```"),
        ["x.md#y", "https://e"]
    );
    assert_eq!(
        code_spans("a `b c\nd` e\n```sh\nx `y`\n```\n`f`"),
        ["b c d", "f"]
    );
}

// ------------------------------------------------------------------------- the course guide

/// The course's tasks, `1.1` … `30.3`, from the table of `docs/course-variants.md`.
fn course_tasks() -> Vec<String> {
    let text = read(&repo().join("docs/course-variants.md"));
    let mut tasks = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // `| N | task 1 | task 2 | task 3 |` (the English table; the Russian one repeats it).
        if cells.len() == 6 && cells[1].parse::<u32>().is_ok() {
            for k in 1..=3 {
                let id = format!("{}.{k}", cells[1]);
                if !tasks.contains(&id) {
                    tasks.push(id);
                }
            }
        }
    }
    tasks
}

/// The guides: English, and the Russian one once it exists.
fn course_guides() -> Vec<PathBuf> {
    ["docs/course.md", "docs/course.ru.md"]
        .iter()
        .map(|p| repo().join(p))
        .filter(|p| p.exists())
        .collect()
}

#[test]
fn every_course_task_has_an_entry_in_the_guides() {
    let tasks = course_tasks();
    assert_eq!(tasks.len(), 90, "{tasks:?}");
    let guides = course_guides();
    assert!(!guides.is_empty(), "docs/course.md is missing");
    for guide in guides {
        let text = read(&guide);
        let headings: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("#### "))
            .filter_map(|h| h.split_whitespace().next())
            .collect();
        let missing: Vec<&String> = tasks
            .iter()
            .filter(|t| !headings.contains(&t.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "{}: no entry for {missing:?}",
            shown(&guide)
        );
        let mut seen = BTreeSet::new();
        let twice: Vec<&&str> = headings
            .iter()
            .filter(|h| tasks.contains(&h.to_string()) && !seen.insert(**h))
            .collect();
        assert!(twice.is_empty(), "{}: twice: {twice:?}", shown(&guide));
    }
}

/// The project command lines of a guide's ```sh blocks, as written (`--offline` kept).
fn sh_commands(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in markdown.lines() {
        let t = line.trim_start();
        if let Some(info) = t.strip_prefix("```") {
            in_sh = !in_sh && info.trim() == "sh";
            continue;
        }
        if in_sh && t.starts_with("cargo run -p dags --") && !t.contains('…') {
            out.push(t.to_owned());
        }
    }
    out
}

/// Every command of the guides runs, in order, in one fresh folder, offline: the local LL2
/// server (`--offline`) instead of the internet, and no variable from outside. The Russian
/// guide shows the same commands. Servers (`webserver`, `scheduler`, `standalone`) and
/// `--follow` are only parsed: they run until stopped.
#[test]
fn the_course_commands_run_offline() {
    let guides = course_guides();
    let Some(first) = guides.first() else {
        panic!("docs/course.md is missing");
    };
    let commands = sh_commands(&read(first));
    assert!(commands.len() >= 20, "only {} commands", commands.len());
    for other in &guides[1..] {
        let theirs: BTreeSet<String> = sh_commands(&read(other)).into_iter().collect();
        let ours: BTreeSet<String> = commands.iter().cloned().collect();
        assert_eq!(
            theirs,
            ours,
            "{}: not the commands of {}",
            shown(other),
            shown(first)
        );
    }
    let bin = env!("CARGO_BIN_EXE_rocket-dag");
    let dir = tempfile::tempdir().unwrap();
    let mut failed = Vec::new();
    let mut ran = BTreeSet::new();
    for line in &commands {
        let words = shell_words(line);
        let args = &words[words.iter().position(|w| w == "--").unwrap() + 1..];
        let servers = ["webserver", "scheduler", "standalone"];
        if args
            .iter()
            .any(|a| servers.contains(&a.as_str()) || a == "--follow" || a == "-f")
        {
            continue;
        }
        if !ran.insert(line.clone()) {
            continue;
        }
        let out = Command::new(bin)
            .args(args)
            .current_dir(dir.path())
            .env_remove("ROCKET_DAG_HOME")
            .env_remove("ROCKET_DAG_DATABASE_URL")
            .env_remove("ROCKET_LAUNCHES_URL")
            .env_remove("ROCKET_SPACEX_URL")
            .env_remove("ROCKET_LL2_API_KEY")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        if !out.status.success() {
            failed.push(format!(
                "`{line}` exited {:?}:\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    assert!(failed.is_empty(), "\n{}", failed.join("\n\n"));
}
