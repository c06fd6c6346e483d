//! `get_pictures` for 1,000 launches × 200 KiB images with 20 ms latency on every request,
//! against a local server, next to the book's sequential Python loop against the same server
//! (`benches/book_get_pictures.py`, with `requests` when installed), so the ratio is measured
//! side by side; then one 500 MiB image, to show that memory does not grow with image size.
//!
//! `cargo bench --bench images` (about a minute: the Python loop alone takes ~25 s a run).
//! Prints the medians of 3 runs each, the ratio, and the bound set by the concurrency limit:
//! ceil(1000 / 16) × 20 ms of latency plus the transfer.

use std::process::Command;
use std::time::{Duration, Instant};

use dags::fetcher::{FetcherConfig, fetch_launch_images};
use dags::mock::{BUNDLED_LAUNCHES_JSON, Fault, MockConfig, MockServer};
use dags::record::Outcome;

const IMAGES: usize = 1_000;
const IMAGE_BYTES: usize = 200 * 1024;
const LATENCY: Duration = Duration::from_millis(20);
const RUNS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would run this too: skip then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    // First, before anything else raises the peak: one 500 MiB image.
    let huge = rt.block_on(async {
        MockServer::start(
            MockConfig::default()
                .with_image_fault("/images/huge.png", Fault::Huge(500 * 1024 * 1024)),
        )
        .await
        .unwrap()
    });
    let mut one = dags::ll2::parse_page(BUNDLED_LAUNCHES_JSON.as_bytes())
        .unwrap()
        .results[0]
        .clone();
    one.image_url = Some(huge.image_url("huge.png"));
    let before = peak_rss_kib();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let records = rt.block_on(fetch_launch_images(
        std::slice::from_ref(&one),
        dir.path(),
        &FetcherConfig::default().max_bytes(600 * 1024 * 1024),
    ));
    let took = started.elapsed();
    let after = peak_rss_kib();
    println!(
        "one 500 MiB image: {:?} in {:.2} s; peak RSS of this process {} MiB before, {} MiB after",
        records[0].outcome,
        took.as_secs_f64(),
        before.map_or("?".into(), |k| (k / 1024).to_string()),
        after.map_or("?".into(), |k| (k / 1024).to_string()),
    );

    let server = rt.block_on(async {
        MockServer::start(
            MockConfig::default()
                .with_launches_json(dags::mock::repeated_launches(IMAGES))
                .with_image_bytes(IMAGE_BYTES)
                .with_latency(LATENCY),
        )
        .await
        .unwrap()
    });
    // The served page, with the images pointing at the local server.
    let page = rt.block_on(async {
        rocket_dag::http::client()
            .get(format!("{}?limit={IMAGES}", server.launches_url()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    });
    let launches = dags::ll2::parse_page(&page).unwrap().results;
    assert_eq!(launches.len(), IMAGES);
    let work = tempfile::tempdir().unwrap();
    let launches_json = work.path().join("launches.json");
    std::fs::write(&launches_json, &page).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/book_get_pictures.py");

    let mut python = Vec::new();
    let mut client = String::new();
    // ROCKET_BENCH_NO_PYTHON=1 measures the fetcher alone (quicker while tuning it).
    let python_runs = if std::env::var_os("ROCKET_BENCH_NO_PYTHON").is_some() {
        0
    } else {
        RUNS
    };
    for i in 0..python_runs {
        let out = work.path().join(format!("py{i}"));
        let started = Instant::now();
        let result = Command::new("python3")
            .arg(script)
            .arg(&launches_json)
            .arg(&out)
            .output();
        let took = started.elapsed();
        match result {
            Ok(o) if o.status.success() => {
                client = String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .to_owned();
                python.push(took);
                let n = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
                assert_eq!(n, IMAGES, "the Python loop stored every image");
            }
            Ok(o) => panic!("python3 failed: {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => {
                eprintln!("python3 not runnable ({e}): measuring rocket-dag alone");
                break;
            }
        }
    }

    let config = FetcherConfig::default();
    let mut rust = Vec::new();
    // Every run's folder is kept until the end: deleting thousands of files between runs makes
    // ext4's inode allocation for the next run's files slow (`recently_deleted` scans), which
    // would measure the benchmark's cleanup, not the download.
    let mut kept = Vec::new();
    for _ in 0..RUNS {
        let dir = tempfile::tempdir_in(work.path()).unwrap();
        let started = Instant::now();
        let records = rt.block_on(fetch_launch_images(&launches, dir.path(), &config));
        rust.push(started.elapsed());
        assert!(records.iter().all(|r| r.outcome == Outcome::Downloaded));
        kept.push(dir);
    }
    // Later runs over stored pictures: nothing to download. Pictures are dated an hour back
    // (a time that recent after a write is never trusted); the first run reads and hashes
    // each and records its time, the next one only compares sizes and times.
    let stored = kept[0].path();
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    for entry in std::fs::read_dir(stored).unwrap().flatten() {
        std::fs::File::options()
            .write(true)
            .open(entry.path())
            .and_then(|f| f.set_modified(hour_ago))
            .unwrap();
    }
    let mut checks = Vec::new();
    for _ in 0..2 {
        let started = Instant::now();
        let again = rt.block_on(fetch_launch_images(&launches, stored, &config));
        checks.push(started.elapsed());
        assert!(again.iter().all(|r| r.outcome == Outcome::AlreadyPresent));
    }
    let (checked_by_hash, checked_by_stat) = (checks[0], checks[1]);
    // The same into tmpfs: what the network and the fetcher allow, without this disk's cost of
    // creating files (measured below as the disk floor).
    let shm = std::path::Path::new("/dev/shm");
    let mut in_memory = Vec::new();
    if shm.is_dir() {
        for _ in 0..RUNS {
            let dir = tempfile::tempdir_in(shm).unwrap();
            let started = Instant::now();
            let records = rt.block_on(fetch_launch_images(&launches, dir.path(), &config));
            in_memory.push(started.elapsed());
            assert!(records.iter().all(|r| r.outcome == Outcome::Downloaded));
        }
    }
    // The disk floor: create, write and rename 1,000 files of this size, one after the other.
    let floor_dir = tempfile::tempdir_in(work.path()).unwrap();
    let bytes = vec![7u8; IMAGE_BYTES];
    let started = Instant::now();
    for i in 0..IMAGES {
        let part = floor_dir.path().join(format!(".f{i}.part"));
        std::fs::write(&part, &bytes).unwrap();
        std::fs::rename(&part, floor_dir.path().join(format!("f{i}.png"))).unwrap();
    }
    let floor = started.elapsed();

    let bound = LATENCY * IMAGES.div_ceil(config.concurrency) as u32;
    let r = median(rust);
    println!(
        "get_pictures, {IMAGES} images x {} KiB, {} ms latency per request:",
        IMAGE_BYTES / 1024,
        LATENCY.as_millis()
    );
    println!(
        "  rocket-dag fetcher ({} at once): {:>8.3} s (median of {RUNS})",
        config.concurrency,
        r.as_secs_f64()
    );
    println!(
        "  latency bound ceil({IMAGES}/{}) x {} ms: {:>8.3} s  -> {:.2}x the bound",
        config.concurrency,
        LATENCY.as_millis(),
        bound.as_secs_f64(),
        r.as_secs_f64() / bound.as_secs_f64()
    );
    println!(
        "  disk floor (create+write+rename {IMAGES} files, sequential): {:>6.3} s",
        floor.as_secs_f64()
    );
    println!(
        "  a second run over the {IMAGES} stored pictures: {:>6.3} s (size and time checked), {:.3} s reading and hashing each",
        checked_by_stat.as_secs_f64(),
        checked_by_hash.as_secs_f64()
    );
    if !in_memory.is_empty() {
        let m = median(in_memory);
        println!(
            "  rocket-dag fetcher into tmpfs:       {:>8.3} s  -> {:.2}x the bound",
            m.as_secs_f64(),
            m.as_secs_f64() / bound.as_secs_f64()
        );
    }
    if !python.is_empty() {
        let p = median(python);
        println!(
            "  book's Python loop ({client}):    {:>8.3} s (median of {RUNS})",
            p.as_secs_f64()
        );
        println!("  speed-up: {:.1}x", p.as_secs_f64() / r.as_secs_f64());
    }
}
