//! The CLI under abuse: hostile ids and servers, two processes on one run, `kill -9`, broken,
//! full and read-only stores, interrupted backfills, out-of-range arguments. The `rocket-dag`
//! binary is spawned against local servers only.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use dags::mock::{Fault, MockConfig, MockServer};
use serde_json::Value;

const RUN: &str = "manual__2024-01-01T00:00:00+00:00";

fn command(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rocket-dag"));
    c.args(args)
        .env("ROCKET_DAG_HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("ROCKET_DAG_DATABASE_URL")
        .env_remove("ROCKET_LAUNCHES_URL");
    c
}

/// Runs the CLI off the async runtime (so a test's local server keeps serving meanwhile).
async fn cli(home: &Path, args: &[&str]) -> Output {
    let mut c = command(home, args);
    tokio::task::spawn_blocking(move || c.output().expect("the binary runs"))
        .await
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: &Output) -> Value {
    let text = stdout(out);
    let start = text.find(['{', '[']).expect("a JSON document on stdout");
    serde_json::from_str(&text[start..]).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn param(server: &MockServer) -> String {
    format!("launches_url={}", server.launches_url())
}

/// A recorded `listing_2_10` run of 2024-01-01 in `home`.
async fn one_run(home: &Path, server: &MockServer) {
    let out = cli(
        home,
        &[
            "dags",
            "test",
            "listing_2_10",
            "2024-01-01",
            "-p",
            &param(server),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
}

fn runs(home: &Path, dag: &str) -> Vec<Value> {
    let out = command(
        home,
        &["--output", "json", "runs", "list", dag, "--limit", "100000"],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    json(&out).as_array().unwrap().clone()
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

/// Waits for `child` up to `limit`, reading its output meanwhile (a full pipe would block it);
/// kills it and fails the test past that.
fn wait_for(child: Child, limit: Duration, what: &str) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            let out = rx.recv().unwrap().unwrap();
            panic!("{what} did not end within {limit:?}: {}", stderr(&out));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_cannot_lead_outside_the_home() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let secret = root.path().join("outside/task_id=t/attempt=1.log");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, "SECRET").unwrap();
    let run = format!("{RUN}/../../../../outside");
    let out = cli(&home, &["logs", "listing_2_10", "--run", &run, "t"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid value"), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid run id"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("SECRET"));
    for args in [
        &["logs", "..", "--run", RUN, "t"][..],
        &["logs", "listing_2_10", "--run", "..", "t"],
        &["logs", "listing_2_10", "--run", RUN, "../t"],
        &["tasks", "state", "listing_2_10", "--run", "a/b", "t"],
        &["export", "listing_2_10", "--run", "../x"],
    ] {
        let out = cli(&home, args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_never_overwrites_what_it_archives() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    one_run(&home, &server).await;
    let db = home.join("rocket-dag.db");
    let before = std::fs::read(&db).unwrap();
    for target in [
        db.clone(),
        home.join("rocket-dag.db-wal"),
        home.join("data/listing_2_10/x.tar.gz"),
        home.join("logs/x.tar.gz"),
        home.join("data/../rocket-dag.db"),
    ] {
        let out = cli(
            &home,
            &["export", "listing_2_10", "--out", target.to_str().unwrap()],
        )
        .await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("refusing"), "{}", stderr(&out));
    }
    assert_eq!(std::fs::read(&db).unwrap(), before, "the history is intact");
    assert_eq!(runs(&home, "listing_2_10").len(), 1);

    let out_file = dir.path().join("runs.tar.gz");
    let out_arg = out_file.to_str().unwrap();
    let out = cli(&home, &["export", "listing_2_10", "--out", out_arg]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&home, &["export", "listing_2_10", "--out", out_arg]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    let out = cli(
        &home,
        &["export", "listing_2_10", "--out", out_arg, "--force"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    // Without --out: under the home's exports/.
    let out = cli(&home, &["--output", "json", "export", "listing_2_10"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let path = PathBuf::from(json(&out)["path"].as_str().unwrap());
    assert!(path.starts_with(home.join("exports")), "{}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_id_runs_in_one_process_at_a_time() {
    let server = MockServer::start(MockConfig::default().with_latency(Duration::from_millis(300)))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let p = param(&server);
    let args = ["dags", "test", "listing_2_10", "2024-01-01", "-p", &p];
    let first = command(home.path(), &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first process has started its first task, the run is claimed.
    let log = home.path().join(format!(
        "logs/dag_id=listing_2_10/run_id={RUN}/task_id=download_launches/attempt=1.log"
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !log.exists() {
        assert!(Instant::now() < deadline, "the first run never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = cli(home.path(), &args).await;
    assert_eq!(second.status.code(), Some(75), "{}", stderr(&second));
    let msg = stderr(&second);
    assert!(
        msg.contains(&format!("is being executed by pid {} on host", first.id())),
        "{msg}"
    );
    assert!(msg.contains("--wait"), "{msg}");
    // --wait: waits for the first, then resumes a run with nothing left to do.
    let mut args_wait = args.to_vec();
    args_wait.push("--wait");
    let waited = command(home.path(), &args_wait)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = wait_for(first, Duration::from_secs(60), "the first run");
    assert!(first.status.success(), "{}", stderr(&first));
    let waited = wait_for(waited, Duration::from_secs(60), "the waiting run");
    assert!(waited.status.success(), "{}", stderr(&waited));
    assert!(stderr(&waited).contains("waiting for it to finish"));
    // Every request was made once: the launches and each picture.
    assert_eq!(server.requests(dags::mock::LAUNCHES_PATH), 1);
    let tries = command(
        home.path(),
        &[
            "--output",
            "json",
            "tasks",
            "state",
            "listing_2_10",
            "--run",
            RUN,
            "get_pictures",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(json(&tries)["try_number"], 1, "no second try of any task");
}

/// A SQLite file whose every page after the first is garbage.
fn corrupt(db: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let len = std::fs::metadata(db).unwrap().len();
    let mut f = std::fs::File::options().write(true).open(db).unwrap();
    f.seek(SeekFrom::Start(4096)).unwrap();
    f.write_all(&vec![0xA5; (len - 4096) as usize]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_store_fails_loudly_and_at_once() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let p = param(&server);
    let args = ["dags", "test", "listing_2_10", "2024-01-02", "-p", &p];

    // Pages corrupted after a first run.
    let home = tempfile::tempdir().unwrap();
    one_run(home.path(), &server).await;
    // Fold the WAL into the file first, so the corruption is what SQLite reads.
    let out = cli(home.path(), &["runs", "list"]).await;
    assert!(out.status.success());
    let db = home.path().join("rocket-dag.db");
    for side in ["rocket-dag.db-wal", "rocket-dag.db-shm"] {
        let _ = std::fs::remove_file(home.path().join(side));
    }
    corrupt(&db);
    let started = Instant::now();
    let out = cli(home.path(), &args).await;
    let msg = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains("malformed") || msg.contains("damaged"),
        "{msg}"
    );
    assert!(!msg.contains("pool timed out"), "{msg}");
    assert!(!stdout(&out).contains(": success"), "{}", stdout(&out));
    assert!(started.elapsed() < Duration::from_secs(20), "no 30 s wait");

    // A 0-byte file and a file that is no database: reported as such, never an empty history.
    for (content, says) in [
        (&b""[..], "is empty (0 bytes)"),
        (
            &b"hello, I am a text file, not a database at all"[..],
            "SQLite's header",
        ),
    ] {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("rocket-dag.db"), content).unwrap();
        let out = cli(home.path(), &args).await;
        let msg = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{msg}");
        assert!(msg.contains("is not a rocket-dag database"), "{msg}");
        assert!(msg.contains(says), "{msg}");
        assert_eq!(
            std::fs::read(home.path().join("rocket-dag.db")).unwrap(),
            content,
            "the file is left as it was"
        );
        // No task ran.
        assert!(!home.path().join("logs").exists());
    }
}

/// Runs `script` with `sh` in a mount namespace of its own (so it may mount a small or
/// read-only file system over a folder); `None` where this machine cannot make one.
fn in_mount_namespace(script: &str, envs: &[(&str, String)]) -> Option<Output> {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to this process's effective user.
    let as_root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let mut c = Command::new("unshare");
    if !as_root {
        c.arg("-r");
    }
    c.args(["-m", "--propagation", "private", "sh", "-c", script]);
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().ok()?;
    if String::from_utf8_lossy(&out.stdout).contains("NO-MOUNT") {
        eprintln!(
            "skipped: cannot mount in a namespace here ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    Some(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_or_read_only_home_fails_the_run_and_says_why() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let bin = env!("CARGO_BIN_EXE_rocket-dag").to_owned();
    let p = param(&server);
    let envs = [
        ("HOME_DIR", home.to_str().unwrap().to_owned()),
        ("BIN", bin.clone()),
        ("P", p.clone()),
        ("NO_COLOR", "1".to_owned()),
    ];
    // A 4 MiB file system: one run fits; then it is filled up and the next run must fail.
    let script = r#"
        mount -t tmpfs -o size=4m tmpfs "$HOME_DIR" || { echo NO-MOUNT; exit 0; }
        export ROCKET_DAG_HOME="$HOME_DIR"
        "$BIN" dags test listing_2_10 2024-01-01 -p "$P" >/dev/null 2>&1 || echo FIRST-FAILED
        dd if=/dev/zero of="$HOME_DIR/fill" bs=64k 2>/dev/null
        "$BIN" dags test listing_2_10 2024-01-02 -p "$P"
        echo "exit=$?"
    "#;
    let server_task = tokio::task::spawn_blocking(move || in_mount_namespace(script, &envs));
    let full = server_task.await.unwrap();
    if let Some(out) = full {
        let (o, e) = (stdout(&out), stderr(&out));
        assert!(!o.contains("FIRST-FAILED"), "{o}{e}");
        assert!(o.contains("exit=1"), "the run must fail: {o}{e}");
        assert!(
            e.contains("no space left") || e.contains("No space left"),
            "the cause is named: {e}"
        );
    }

    // A read-only home: a fresh one, and one with a history.
    let home2 = dir.path().join("home2");
    std::fs::create_dir(&home2).unwrap();
    let envs = [
        ("HOME_DIR", home2.to_str().unwrap().to_owned()),
        ("BIN", bin),
        ("P", p),
        ("NO_COLOR", "1".to_owned()),
    ];
    let script = r#"
        mount -t tmpfs -o size=16m tmpfs "$HOME_DIR" || { echo NO-MOUNT; exit 0; }
        export ROCKET_DAG_HOME="$HOME_DIR"
        "$BIN" dags test listing_2_10 2024-01-01 -p "$P" >/dev/null 2>&1 || echo FIRST-FAILED
        mount -o remount,ro "$HOME_DIR" || { echo NO-MOUNT; exit 0; }
        "$BIN" dags test listing_2_10 2024-01-02 -p "$P"
        echo "exit=$?"
    "#;
    let ro = tokio::task::spawn_blocking(move || in_mount_namespace(script, &envs))
        .await
        .unwrap();
    if let Some(out) = ro {
        let (o, e) = (stdout(&out), stderr(&out));
        assert!(!o.contains("FIRST-FAILED"), "{o}{e}");
        assert!(o.contains("exit=1"), "{o}{e}");
        assert!(e.contains("read-only file system"), "{e}");
        assert!(!e.contains("code 14") && !e.contains("(code: 14)"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_keeps_its_log_and_a_restarted_scheduler_finishes_it() {
    // Slow answers, so that the kill lands while get_pictures runs.
    let server = MockServer::start(MockConfig::default().with_latency(Duration::from_millis(400)))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let url = server.launches_url();
    let mut run = command(home.path(), &["dags", "test", "listing_2_10", "2024-01-01"])
        .env("ROCKET_LAUNCHES_URL", &url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Console lines of get_pictures, as they come.
    let console = BufReader::new(run.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in console.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.iter().any(|l: &String| l.contains("[get_pictures]")) {
        assert!(
            Instant::now() < deadline,
            "get_pictures never started: {seen:?}"
        );
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(50)) {
            seen.push(l);
        }
    }
    // Within the flush budget of 100 ms, then kill -9.
    tokio::time::sleep(Duration::from_millis(150)).await;
    while let Ok(l) = rx.try_recv() {
        seen.push(l);
    }
    signal(&run, nix::sys::signal::Signal::SIGKILL);
    run.wait().unwrap();
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
        seen.push(l);
    }
    let log = home.path().join(format!(
        "logs/dag_id=listing_2_10/run_id={RUN}/task_id=get_pictures/attempt=1.log"
    ));
    let written = std::fs::read_to_string(&log).unwrap();
    for line in seen.iter().filter(|l| l.contains("[get_pictures]")) {
        let message = line.split_once("[get_pictures] ").unwrap().1;
        assert!(
            written.contains(message),
            "the console showed `{message}`, the log file has:\n{written}"
        );
    }

    // `logs --follow` on the killed attempt ends: its process is gone.
    let follow = command(
        home.path(),
        &[
            "logs",
            "listing_2_10",
            "--run",
            RUN,
            "get_pictures",
            "--follow",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let follow = wait_for(follow, Duration::from_secs(20), "logs --follow");
    assert!(follow.status.success(), "{}", stderr(&follow));
    assert!(stderr(&follow).contains("is gone"), "{}", stderr(&follow));

    // A scheduler started now adopts the run and finishes it.
    let console = home.path().join("scheduler.console");
    let scheduler = command(home.path(), &["scheduler"])
        .env("ROCKET_LAUNCHES_URL", &url)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&console).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = runs(home.path(), "listing_2_10")
            .iter()
            .any(|r| r["run_id"] == RUN && r["state"] == "success");
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "the killed run was not resumed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal(&scheduler, nix::sys::signal::Signal::SIGTERM);
    wait_for(scheduler, Duration::from_secs(30), "the scheduler");
    let console = std::fs::read_to_string(&console).unwrap();
    assert!(
        console.contains("left running by a process that is gone"),
        "{console}"
    );
    let state = command(
        home.path(),
        &[
            "--output",
            "json",
            "tasks",
            "state",
            "listing_2_10",
            "--run",
            RUN,
            "get_pictures",
        ],
    )
    .output()
    .unwrap();
    let state = json(&state);
    assert_eq!(state["state"], "success");
    assert_eq!(
        state["try_number"], 2,
        "the killed try, then the resumed one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_backfill_records_only_what_started() {
    let server = MockServer::start(MockConfig::default().with_latency(Duration::from_millis(300)))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let p = param(&server);
    let child = command(
        home.path(),
        &[
            "dags",
            "backfill",
            "listing_2_10",
            "--start",
            "2023-01-01",
            "--end",
            "2023-12-31",
            "-p",
            &p,
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    signal(&child, nix::sys::signal::Signal::SIGINT);
    let out = wait_for(child, Duration::from_secs(60), "the interrupted backfill");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let recorded = runs(home.path(), "listing_2_10");
    // At most the runs that had started (max_active_runs of them at a time).
    assert!(
        !recorded.is_empty() && recorded.len() <= 64,
        "{} runs recorded",
        recorded.len()
    );
    assert!(
        stdout(&out).contains("not started (interrupted)"),
        "{}",
        stdout(&out)
    );

    // Ranges that cannot be represented or would be cut: refused up front.
    let out = cli(
        home.path(),
        &[
            "dags",
            "backfill",
            "listing_2_10",
            "--start",
            "2024-01-01",
            "--end",
            "9999-12-31",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("supported range"), "{}", stderr(&out));
    let out = cli(
        home.path(),
        &[
            "dags",
            "backfill",
            "listing_2_10",
            "--start",
            "1990-01-01",
            "--end",
            "2024-01-01",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("split the range"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_out_of_range_are_refused() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    for date in ["9999-12-31", "+10000-01-01", "0500-01-01"] {
        let out = cli(home.path(), &["dags", "test", "rocket_history", date]).await;
        assert_eq!(out.status.code(), Some(2), "{date}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("1000-01-01 to 4999-01-01"),
            "{}",
            stderr(&out)
        );
    }
    let out = cli(
        home.path(),
        &[
            "dags",
            "test",
            "listing_2_10_mapped",
            "2024-01-01",
            "-p",
            &param(&server),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mark = |task: &'static str, index: &'static str| {
        let home = home.path().to_owned();
        async move {
            cli(
                &home,
                &[
                    "tasks",
                    "mark",
                    "listing_2_10_mapped",
                    "--run",
                    RUN,
                    task,
                    "--state",
                    "success",
                    "--map-index",
                    index,
                ],
            )
            .await
        }
    };
    let out = mark("get_picture", "4294967295").await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("out of range"), "{}", stderr(&out));
    let state = cli(
        home.path(),
        &[
            "--output",
            "json",
            "tasks",
            "state",
            "listing_2_10_mapped",
            "--run",
            RUN,
            "get_picture",
        ],
    )
    .await;
    let n = json(&state)["map_indexes"].as_u64().unwrap();
    let out = mark("get_picture", "99").await;
    assert_eq!(out.status.code(), Some(2));
    let says = format!("map index 99 is out of range: task `get_picture` has {n} element(s)");
    assert!(stderr(&out).contains(&says), "{}", stderr(&out));
    let out = mark("download_launches", "0").await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not mapped"), "{}", stderr(&out));
    // Nothing was marked: the unmapped row (-1) is untouched.
    let state = cli(
        home.path(),
        &[
            "tasks",
            "state",
            "listing_2_10_mapped",
            "--run",
            RUN,
            "download_launches",
        ],
    )
    .await;
    assert_eq!(stdout(&state).trim(), "success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomers_first_minutes() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let p = param(&server);
    // "Run it now", twice in a row: two runs.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let out = cli(
            home.path(),
            &["--output", "json", "dags", "test", "listing_2_10", "-p", &p],
        )
        .await;
        assert!(out.status.success(), "{}", stderr(&out));
        ids.push(json(&out)["run_id"].as_str().unwrap().to_owned());
    }
    assert_ne!(ids[0], ids[1]);
    assert_eq!(runs(home.path(), "listing_2_10").len(), 2);

    // `--run latest` is the run that started last, not the newest logical date.
    let out = cli(
        home.path(),
        &["dags", "test", "listing_2_10", "2024-01-01", "-p", &p],
    )
    .await;
    assert!(out.status.success());
    let out = cli(
        home.path(),
        &[
            "--output",
            "json",
            "gantt",
            "listing_2_10",
            "--run",
            "latest",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let wrote = json(&out)["wrote"].as_str().unwrap().to_owned();
    assert!(wrote.contains(RUN), "{wrote}");
    // Written under the home, not into the current folder.
    assert!(
        Path::new(&wrote).starts_with(home.path().join("exports")),
        "{wrote}"
    );

    // Weak messages made clear.
    let file = home.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = cli(&file, &["runs", "list"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not a directory"),
        "{}",
        stderr(&out)
    );
    let out = cli(home.path(), &["runs", "list", "nosuchdag"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no DAG `nosuchdag`"),
        "{}",
        stderr(&out)
    );

    // No network: one attempt, a fast failure, the exact command to run offline.
    let out = cli(
        home.path(),
        &[
            "--output",
            "json",
            "dags",
            "test",
            "listing_2_10",
            "2024-02-01",
            "-p",
            "launches_url=http://no-such-host.invalid/2.0.0/launch/upcoming/",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let task = &report["tasks"][0];
    assert_eq!(task["attempts"].as_array().unwrap().len(), 1, "{task}");
    let reason = task["reason"].as_str().unwrap();
    assert!(
        reason.contains("`cargo run --example listing_2_10 -- --offline`"),
        "{reason}"
    );

    // `--offline` reaches every run the process starts: a backfill too.
    let out = cli(
        home.path(),
        &[
            "--offline",
            "dags",
            "backfill",
            "listing_2_10",
            "--start",
            "2024-03-01",
            "--end",
            "2024-03-01",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("success"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_never_reaches_the_terminal_or_forges_log_lines() {
    let forged = "[2024-01-01T00:00:00.000Z] INFO  rocket_dag::runner: all good";
    let detail = format!("\x1b[2J\x1b[31mgone\n{forged}");
    let server =
        MockServer::start(MockConfig::default().with_launch_faults([Fault::Detail(404, detail)]))
            .await
            .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = cli(
        home.path(),
        &[
            "dags",
            "test",
            "rocket_launches",
            "2024-01-01",
            "-p",
            &param(&server),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log_path = home.path().join(format!(
        "logs/dag_id=rocket_launches/run_id={RUN}/task_id=fetch_launches/attempt=1.log"
    ));
    let file = std::fs::read_to_string(&log_path).unwrap();
    let logs = cli(
        home.path(),
        &["logs", "rocket_launches", "--run", RUN, "fetch_launches"],
    )
    .await;
    for (what, text) in [
        ("stderr", stderr(&out)),
        ("stdout", stdout(&out)),
        ("log file", file),
        ("logs", stdout(&logs)),
    ] {
        assert!(!text.contains('\x1b'), "{what} carries an escape: {text}");
        assert!(
            !text.lines().any(|l| l.starts_with(forged)),
            "{what} has a forged line: {text}"
        );
        assert!(text.contains("\\u{1b}[31mgone\\n[2024"), "{what}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_downloads_leftovers_are_swept() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let images = home.path().join("data/listing_2_10/images");
    std::fs::create_dir_all(&images).unwrap();
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let left = images.join(format!(".x.png.{dead}.0.part"));
    std::fs::write(&left, b"half a picture").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(&left)
        .unwrap()
        .set_modified(old)
        .unwrap();
    one_run(home.path(), &server).await;
    assert!(!left.exists());
}
