//! The README's quick start, run as a new user would run it: every command of the blocks marked
//! `<!-- quickstart -->`, in order, in a fresh working directory (so the default home
//! `./.rocket-dag` is a new one), against a local Launch Library 2 server instead of the
//! internet. The commands run the binaries `cargo test --workspace` has built (the example and
//! the `dags` crate's `rocket-dag`), not `cargo run`, which would wait on the build lock. The
//! example's own options, which docs/cli.md describes, are checked against its `--help`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dags::mock::{MockConfig, MockServer};

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of the ```sh blocks that follow a `<!-- quickstart … -->` comment.
fn quickstart_lines(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("<!-- quickstart") {
            continue;
        }
        assert_eq!(
            lines.next().map(str::trim),
            Some("```sh"),
            "a `<!-- quickstart -->` comment comes right before a ```sh block"
        );
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            if !line.trim().is_empty() {
                out.push(line.to_owned());
            }
        }
    }
    out
}

/// Shell words up to a comment; `'…'` quotes (the only quoting the quick start uses).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_default();
            }
            '#' if !quoted && word.is_none() => break,
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
}

/// A binary `cargo test` built beside this test (`target/<profile>/deps/quickstart-…`).
fn built(relative: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let path = profile_dir
        .join(relative)
        .with_extension(std::env::consts::EXE_EXTENSION);
    assert!(
        path.is_file(),
        "{} is not built: `cargo test --workspace` builds it (alone: `cargo build --workspace --examples`)",
        path.display()
    );
    path
}

/// What to run for a quick-start line: the binary and its arguments, or `None` for
/// `cargo test --workspace` (the command running this test).
fn program(line: &str) -> Option<(PathBuf, Vec<String>)> {
    let words = shell_words(line);
    let (cargo, args) = match words.iter().position(|w| w == "--") {
        Some(i) => (&words[..i], words[i + 1..].to_vec()),
        None => (&words[..], Vec::new()),
    };
    match cargo.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["cargo", "test", "--workspace"] => None,
        ["cargo", "run", "--example", name] => Some((built(&format!("examples/{name}")), args)),
        ["cargo", "run", "-p", "dags"] => Some((built("rocket-dag"), args)),
        _ => panic!(
            "the quick start shows `{line}`, which this test does not know how to run: teach \
             `program` in tests/quickstart.rs, or move the line out of the quick-start blocks"
        ),
    }
}

fn run(dir: &Path, launches_url: &str, program: &Path, args: &[String]) -> Output {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir).env("NO_COLOR", "1");
    // A fresh machine: none of the caller's settings (home, database, notifications, API key).
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ROCKET_") {
            command.env_remove(key);
        }
    }
    // The quick start's first command fetches from the live API: the local server stands in
    // for it (`--offline` commands start their own).
    command.env("ROCKET_LAUNCHES_URL", launches_url);
    command.output().expect("the binary runs")
}

#[tokio::test]
async fn the_readme_quick_start_runs() {
    let lines = quickstart_lines(&readme());
    assert!(lines.len() >= 8, "quick-start lines: {lines:?}");
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut ran, mut dag_runs) = (0, 0);
    for line in lines {
        let Some((binary, args)) = program(&line) else {
            continue;
        };
        // The example without a subcommand (a date at most) is `dags test listing_2_10`.
        let runs_the_dag = binary
            .ends_with(format!("listing_2_10{}", std::env::consts::EXE_SUFFIX))
            && args
                .iter()
                .find(|a| *a != "--offline")
                .is_none_or(|a| a.starts_with(|c: char| c.is_ascii_digit()));
        let (dir_path, url) = (dir.path().to_owned(), server.launches_url());
        // Off the async runtime, so the local server keeps serving meanwhile.
        let out = tokio::task::spawn_blocking(move || run(&dir_path, &url, &binary, &args))
            .await
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success(),
            "`{line}` failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        assert!(!stdout.trim().is_empty(), "`{line}` printed nothing");
        if runs_the_dag {
            assert!(
                stdout.contains("There are now") && stdout.contains("(listing_2_10): success"),
                "`{line}`:\n{stdout}"
            );
            dag_runs += 1;
        }
        ran += 1;
    }
    assert!(
        ran >= 8 && dag_runs >= 3,
        "{ran} commands ran, {dag_runs} of them the DAG"
    );
    assert!(
        server.total_requests() > 0,
        "the first command did not fetch from the local server"
    );
    // The README says where a run's history, logs and data go.
    let home = dir.path().join(".rocket-dag");
    for path in [
        "rocket-dag.db",
        "logs/dag_id=listing_2_10",
        "data/listing_2_10/images",
    ] {
        assert!(home.join(path).exists(), "no {}", home.join(path).display());
    }
}

#[test]
fn quick_start_lines_are_read_as_a_shell_would() {
    assert_eq!(
        shell_words("cargo run -- logs x --run 'a:b+00:00' t   # comment"),
        ["cargo", "run", "--", "logs", "x", "--run", "a:b+00:00", "t"]
    );
    let lines = quickstart_lines("<!-- quickstart -->\n```sh\ncargo test --workspace\n```\n");
    assert_eq!(lines, ["cargo test --workspace"]);
    assert!(program(&lines[0]).is_none());
}

/// docs/cli.md describes the example's own options; its `--help` has them.
#[test]
fn the_examples_own_options_are_the_ones_documented() {
    let out = Command::new(built("examples/listing_2_10"))
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .expect("the example runs");
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md"))
        .expect("docs/cli.md");
    for option in ["--launches-url", "ROCKET_LAUNCHES_URL", "--offline"] {
        assert!(
            help.contains(option),
            "the example's --help lacks `{option}`:\n{help}"
        );
        assert!(
            docs.contains(&format!("`{option}")),
            "docs/cli.md does not describe `{option}`"
        );
    }
}

/// The README's `standalone` command: it prints the URL it serves, answers there (pages and
/// API), runs the DAG on its schedule against the offline server, and Ctrl-C stops it cleanly.
#[tokio::test]
async fn standalone_serves_runs_the_dag_and_stops_on_ctrl_c() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(built("examples/listing_2_10"))
        .args(["--offline", "standalone", "--port", "0"])
        .current_dir(dir.path())
        .env_remove("ROCKET_DAG_HOME")
        .env_remove("ROCKET_DAG_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
        .spawn()
        .expect("the example starts");
    let stdout = child.stdout.take().unwrap();
    // Read on to the end, as a terminal would: a closed pipe would fail the DAG's own prints.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(at) = line.find("http://")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(
                    line[at..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_owned(),
                );
            }
        }
    });
    let url = rx.await.expect("standalone prints its URL");
    assert!(url.starts_with("http://localhost:"), "{url}");
    let client = rocket_dag::http::builder().no_proxy().build().unwrap();
    let page = client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("listing_2_10"));
    // catchup = false: the scheduler starts the latest interval at once.
    let runs = format!("{url}api/v1/dags/listing_2_10/dagRuns");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let body: serde_json::Value = client
            .get(&runs)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let states: Vec<&str> = body["dag_runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["state"].as_str())
            .collect();
        if states.contains(&"success") {
            break;
        }
        let log = || std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
        assert!(!states.contains(&"failed"), "{body}\n{}", log());
        assert!(std::time::Instant::now() < deadline, "{body}\n{}", log());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(dir.path().join(".rocket-dag/rocket-dag.db").exists());
}
