//! Tests of the reports: each report built and snapshotted, the files written, CSV and
//! Markdown escaping, number formats.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::Duration;
use rocket_dag::store::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, Store, TaskInstanceRecord, TaskStateRecord,
};

use super::format::{bar, code, fmt_bytes, fmt_int, fmt_ms, fmt_pct, fmt_rate, fmt_span, text};
use super::history::images_from_outputs;
use super::table::csv_cell;
use super::*;
use crate::ll2::parse_page;
use crate::record::{Outcome, Source};

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("test date")
        .to_utc()
}

fn fixture(name: &str) -> Vec<Launch> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ll2")
        .join(name);
    let bytes = std::fs::read(&path).expect("read fixture");
    parse_page(&bytes).expect("parse fixture").results
}

fn json(report: &impl Serialize) -> String {
    serde_json::to_string_pretty(report).expect("report serializes")
}

fn launch(id: &str, net: Option<&str>) -> Launch {
    Launch {
        id: id.into(),
        name: format!("Rocket | Mission {id}"),
        net: net.map(at),
        status: Some("Go for Launch".into()),
        provider: Some("SpaceX".into()),
        rocket: Some("Falcon 9 Block 5".into()),
        rocket_family: Some("Falcon".into()),
        rocket_image_url: None,
        pad: Some("Space Launch Complex 40".into()),
        location: Some("Cape Canaveral SFS, FL, USA".into()),
        country: Some("USA".into()),
        pad_timezone: Some("America/New_York".into()),
        mission: Some(format!("Mission {id}")),
        orbit: Some("Low Earth Orbit".into()),
        image_url: None,
        thumbnail_url: None,
        last_updated: None,
        sources: Vec::new(),
        source_ids: Default::default(),
    }
}

// ---- launch report ----

#[test]
fn launch_report_of_the_2025_11_fixture() {
    let launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
    let report = LaunchReport::build(&launches, at("2025-11-02T00:00:00Z"));
    assert_eq!(report.launches.len(), 5);
    assert_eq!(
        (report.window.before.len(), report.window.after.len()),
        (1, 4)
    );
    // 05:09:59Z on the night New York leaves DST (06:00Z) is still 01:09:59 EDT.
    let bandwagon = &report.launches[1];
    assert_eq!(
        bandwagon.net_local.as_deref(),
        Some("2025-11-02T01:09:59-04:00")
    );
    assert_eq!(bandwagon.zone_abbreviation.as_deref(), Some("EDT"));
    insta::assert_snapshot!("launches_2025_11_md", report.to_markdown());
    insta::assert_snapshot!("launches_2025_11_json", json(&report));
}

#[test]
fn launch_report_of_the_2024_03_fixture_falls_back_to_utc() {
    let launches = fixture("v2.0.0-upcoming-2024-03.json");
    let report = LaunchReport::build(&launches, at("2024-04-01T00:00:00Z"));
    assert!(
        report
            .launches
            .iter()
            .all(|l| l.zone_fallback == Some(ZoneFallback::NotGiven) && l.zone == "UTC"),
        "API 2.0.0 sends no pad time zone"
    );
    // A launch exactly at the logical date is "after".
    assert_eq!(
        (report.window.before.len(), report.window.after.len()),
        (3, 7)
    );
    assert_eq!(report.window.after[0].seconds_from_logical_date, 0);
    insta::assert_snapshot!("launches_2024_03_md", report.to_markdown());
    insta::assert_snapshot!("launches_2024_03_json", json(&report));
}

#[test]
fn no_launches_is_a_short_report() {
    let report = LaunchReport::build(&[], at("2025-11-02T00:00:00Z"));
    assert!(report.launches.is_empty());
    assert_eq!(report.intervals.gaps, []);
    assert_eq!(
        (
            report.intervals.min_seconds,
            report.intervals.median_seconds
        ),
        (None, None)
    );
    assert_eq!(report.counts.provider, []);
    insta::assert_snapshot!("launches_empty_md", report.to_markdown());
    let dir = tempfile::tempdir().expect("tempdir");
    let written = report.write(dir.path()).expect("write");
    // Five tables and four charts (which say there is nothing to draw).
    assert_eq!(written.len(), 9);
    let chart = std::fs::read_to_string(dir.path().join("launches_per_month.svg")).expect("svg");
    assert!(chart.contains("nothing to draw"));
    let csv = std::fs::read_to_string(dir.path().join("launches.csv")).expect("csv");
    assert_eq!(csv.lines().count(), 1, "the header only");
}

#[test]
fn unknown_and_missing_time_zones_fall_back_to_utc_with_a_note() {
    let mut mars = launch("mars", Some("2025-11-03T10:00:00Z"));
    mars.pad_timezone = Some("Mars/Olympus_Mons".into());
    let mut none = launch("none", Some("2025-11-04T10:00:00Z"));
    none.pad_timezone = None;
    let mut blank = launch("blank", Some("2025-11-05T10:00:00Z"));
    blank.pad_timezone = Some("  ".into());
    let kolkata = {
        let mut l = launch("kolkata", Some("2025-11-02T11:56:00Z"));
        l.pad_timezone = Some("Asia/Kolkata".into());
        l
    };
    let cayenne = {
        let mut l = launch("cayenne", Some("2025-11-04T21:03:00Z"));
        l.pad_timezone = Some("America/Cayenne".into());
        l
    };
    let report = LaunchReport::build(
        &[mars, none, blank, kolkata, cayenne],
        at("2025-11-01T00:00:00Z"),
    );
    let row = |id: &str| report.launches.iter().find(|l| l.id == id).expect("row");
    assert_eq!(
        row("mars").zone_fallback,
        Some(ZoneFallback::Unknown {
            given: "Mars/Olympus_Mons".into()
        })
    );
    assert_eq!(
        row("mars").net_local.as_deref(),
        Some("2025-11-03T10:00:00+00:00")
    );
    assert_eq!(row("none").zone_fallback, Some(ZoneFallback::NotGiven));
    assert_eq!(row("blank").zone_fallback, Some(ZoneFallback::NotGiven));
    assert_eq!(row("kolkata").zone_fallback, None);
    assert_eq!(
        row("kolkata").net_local.as_deref(),
        Some("2025-11-02T17:26:00+05:30")
    );
    assert_eq!(row("kolkata").zone_abbreviation.as_deref(), Some("IST"));
    // Cayenne's only name for its offset is the offset: no abbreviation.
    assert_eq!(row("cayenne").zone_abbreviation, None);

    let md = report.to_markdown();
    assert!(md.contains("2025-11-03 10:00 UTC ‡"), "{md}");
    assert!(md.contains("2025-11-04 10:00 UTC †"), "{md}");
    assert!(md.contains("2025-11-02 17:26 IST (UTC+05:30)"), "{md}");
    assert!(md.contains("2025-11-04 18:03 (UTC-03:00)"), "{md}");
    assert!(
        md.contains("not a known IANA zone (`Mars/Olympus_Mons`)"),
        "{md}"
    );
    assert!(md.contains("† The API gave no time zone"), "{md}");
    let json: serde_json::Value = serde_json::to_value(&report).expect("json");
    // By NET: kolkata, mars, none, cayenne, blank.
    let fallbacks: Vec<&serde_json::Value> = (0..5)
        .map(|i| &json["launches"][i]["zone_fallback"])
        .collect();
    assert_eq!(
        fallbacks,
        [
            &serde_json::Value::Null,
            &serde_json::json!({"reason": "unknown", "given": "Mars/Olympus_Mons"}),
            &serde_json::json!({"reason": "not_given"}),
            &serde_json::Value::Null,
            &serde_json::json!({"reason": "not_given"}),
        ]
    );
}

#[test]
fn intervals_leave_out_launches_without_net_and_take_the_middle_median() {
    let launches = [
        launch("c", Some("2025-01-01T12:00:00Z")),
        launch("x", None),
        launch("a", Some("2025-01-01T00:00:00Z")),
        launch("d", Some("2025-01-03T12:00:00Z")),
        launch("b", Some("2025-01-01T00:00:00Z")),
    ];
    let report = LaunchReport::build(&launches, at("2025-01-02T00:00:00Z"));
    let order: Vec<&str> = report.launches.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        order,
        ["a", "b", "c", "d", "x"],
        "by NET, same NET in input order"
    );
    let gaps: Vec<i64> = report.intervals.gaps.iter().map(|g| g.seconds).collect();
    assert_eq!(gaps, [0, 12 * 3600, 48 * 3600]);
    assert_eq!(report.intervals.without_net, 1);
    assert_eq!(report.intervals.min_seconds, Some(0));
    assert_eq!(report.intervals.median_seconds, Some(12.0 * 3600.0));
    assert_eq!(report.intervals.max_seconds, Some(48 * 3600));
    assert_eq!(report.window.without_net, 1);

    let even = LaunchReport::build(&launches[..4], at("2025-01-02T00:00:00Z"));
    // c, x, a, d: gaps 12 h and 48 h, the median is their mean.
    assert_eq!(even.intervals.median_seconds, Some(30.0 * 3600.0));
    let md = report.to_markdown();
    assert!(md.contains("1 launch without a NET is left out."), "{md}");
    assert!(
        md.contains("Shortest gap 0 s, median 12 h 0 min, longest 2 d 0 h (over 3 gaps)."),
        "{md}"
    );
}

#[test]
fn window_bounds_are_half_open() {
    let logical = "2025-06-01T00:00:00Z";
    let launches = [
        launch("too-early", Some("2025-05-01T23:59:59Z")),
        launch("first-before", Some("2025-05-02T00:00:00Z")),
        launch("last-before", Some("2025-05-31T23:59:59Z")),
        launch("at", Some(logical)),
        launch("last-after", Some("2025-06-30T23:59:59Z")),
        launch("too-late", Some("2025-07-01T00:00:00Z")),
    ];
    let report = LaunchReport::build(&launches, at(logical));
    let ids = |v: &[WindowLaunch]| v.iter().map(|l| l.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&report.window.before), ["first-before", "last-before"]);
    assert_eq!(ids(&report.window.after), ["at", "last-after"]);
    assert_eq!(report.window.outside, 2);
    assert_eq!(report.window.before[1].seconds_from_logical_date, -1);
}

#[test]
fn counts_are_most_frequent_first_with_not_given_last() {
    let mut launches = vec![
        launch("a", None),
        launch("b", None),
        launch("c", None),
        launch("d", None),
    ];
    launches[1].provider = Some("Rocket Lab".into());
    launches[2].provider = None;
    launches[3].provider = Some("Arianespace".into());
    launches[3].pad = None;
    let report = LaunchReport::build(&launches, at("2025-01-01T00:00:00Z"));
    let providers: Vec<(Option<&str>, usize)> = report
        .counts
        .provider
        .iter()
        .map(|c| (c.value.as_deref(), c.count))
        .collect();
    // All once: by name, not given last.
    assert_eq!(
        providers,
        [
            (Some("Arianespace"), 1),
            (Some("Rocket Lab"), 1),
            (Some("SpaceX"), 1),
            (None, 1)
        ]
    );
    launches[2].provider = Some("SpaceX".into());
    let report = LaunchReport::build(&launches, at("2025-01-01T00:00:00Z"));
    assert_eq!(
        report.counts.provider[0],
        Count {
            value: Some("SpaceX".into()),
            count: 2
        }
    );
    let pads: Vec<Option<&str>> = report
        .counts
        .pad
        .iter()
        .map(|c| c.value.as_deref())
        .collect();
    assert_eq!(
        pads,
        [
            Some("Space Launch Complex 40 (Cape Canaveral SFS, FL, USA)"),
            None
        ]
    );
    assert_eq!(report.counts.pad[0].count, 3);
}

// ---- download report ----

const CDN: &str = "thespacedevs-prod.nyc3.digitaloceanspaces.com";
const IMGBOX: &str = "images2.imgbox.com";

/// A record as a successful download from `host` leaves it; tests adjust the rest.
fn record(launch: &str, rocket: Option<&str>, outcome: Outcome, host: Option<&str>) -> ImageRecord {
    ImageRecord {
        launch_id: format!("id-{launch}"),
        launch_name: launch.into(),
        rocket: rocket.map(str::to_owned),
        url: host.map(|h| format!("https://{h}/media/{launch}.jpg")),
        outcome,
        error_class: None,
        error: None,
        http_status: None,
        bytes: None,
        ttfb_ms: None,
        total_ms: None,
        throughput_bps: None,
        attempts: 1,
        source: Some(Source::Primary),
        sha256: None,
        file_name: None,
        host: host.map(str::to_owned),
        failed_attempts: Vec::new(),
    }
}

fn timed(
    mut r: ImageRecord,
    bytes: Option<u64>,
    ttfb_ms: Option<f64>,
    total_ms: Option<f64>,
) -> ImageRecord {
    r.bytes = bytes;
    r.ttfb_ms = ttfb_ms;
    r.total_ms = total_ms;
    r.http_status = bytes.map(|_| 200);
    r
}

fn failed(mut r: ImageRecord, class: &str, status: Option<u16>) -> ImageRecord {
    r.error_class = Some(class.into());
    r.error = Some(format!("{class} error"));
    r.http_status = status;
    r
}

/// Every outcome, five error classes, four hosts (and a failure without one), 11 timed.
fn sample_records() -> Vec<ImageRecord> {
    const F9: Option<&str> = Some("Falcon 9 Block 5");
    const LM: Option<&str> = Some("Long March 7A");
    const EL: Option<&str> = Some("Electron");
    use Outcome::*;
    vec![
        timed(
            record("Falcon 9 | Starlink 11-23", F9, Downloaded, Some(CDN)),
            Some(204_800),
            Some(45.0),
            Some(180.0),
        ),
        timed(
            record("Falcon 9 | Bandwagon 4", F9, Downloaded, Some(CDN)),
            Some(512_000),
            Some(60.0),
            Some(420.0),
        ),
        timed(
            record(
                "LVM-3 | CMS-03",
                Some("Launch Vehicle Mark-3"),
                Downloaded,
                Some(IMGBOX),
            ),
            Some(1_048_576),
            Some(120.0),
            Some(950.0),
        ),
        {
            let mut r = record(
                "Ariane 62 | Sentinel-1D",
                Some("Ariane 62"),
                Downloaded,
                Some(CDN),
            );
            r.source = Some(Source::RocketConfiguration);
            timed(r, Some(3_145_728), Some(150.0), Some(2_400.0))
        },
        {
            let mut r = timed(
                record("Falcon 9 | Starlink 6-45", F9, AlreadyPresent, Some(CDN)),
                Some(204_800),
                Some(12.0),
                Some(15.0),
            );
            r.http_status = Some(304);
            r
        },
        timed(
            record("Falcon 9 | Starlink 7-18", F9, DuplicateUrl, Some(CDN)),
            Some(204_800),
            None,
            None,
        ),
        timed(
            record(
                "Long March 7A | Unknown Payload",
                LM,
                DuplicateContent,
                Some("cdn.example.org"),
            ),
            Some(300_000),
            Some(80.0),
            Some(300.0),
        ),
        failed(
            timed(
                record("Electron | Slow Pic", EL, Failed, Some("slow.example.net")),
                None,
                None,
                Some(30_000.0),
            ),
            "timeout",
            None,
        ),
        {
            let mut r = failed(
                timed(
                    record("Falcon 9 | NROL-69", F9, Failed, Some(IMGBOX)),
                    None,
                    Some(200.0),
                    Some(210.0),
                ),
                "http_5xx",
                Some(503),
            );
            r.attempts = 3;
            r
        },
        failed(
            timed(
                record("Falcon 9 | Transporter-13", F9, Failed, Some(CDN)),
                None,
                Some(90.0),
                Some(95.0),
            ),
            "http_4xx",
            Some(404),
        ),
        {
            let mut r = failed(
                record("Electron | Bad URL", EL, Failed, None),
                "invalid_url",
                None,
            );
            r.url = Some("htp:/not a url".into());
            r
        },
        failed(
            timed(
                record(
                    "Long March 7A | Refused",
                    LM,
                    Failed,
                    Some("dead.example.net"),
                ),
                None,
                None,
                Some(2.0),
            ),
            "connect",
            None,
        ),
        failed(
            timed(
                record(
                    "Long March 7A | Also Refused",
                    LM,
                    Failed,
                    Some("dead.example.net"),
                ),
                None,
                None,
                Some(3.0),
            ),
            "connect",
            None,
        ),
        record("Soyuz 2.1b | Resurs-P No.4", None, NoImage, None),
    ]
}

#[test]
fn download_report_of_every_outcome() {
    let report = DownloadReport::build(&sample_records());
    assert_eq!(report.records, 14);
    assert_eq!(
        (report.succeeded, report.failed, report.no_image),
        (7, 6, 1)
    );
    let by_outcome: Vec<usize> = report.by_outcome.iter().map(|c| c.count).collect();
    assert_eq!(by_outcome, [4, 1, 1, 1, 6, 1]);
    let classes: Vec<(Option<&str>, usize)> = report
        .failures_by_error_class
        .iter()
        .map(|c| (c.value.as_deref(), c.count))
        .collect();
    assert_eq!(
        classes,
        [
            (Some("connect"), 2),
            (Some("http_4xx"), 1),
            (Some("http_5xx"), 1),
            (Some("invalid_url"), 1),
            (Some("timeout"), 1)
        ]
    );
    assert_eq!(
        report.failures_by_host.last().map(|c| &c.value),
        Some(&None)
    );
    // 11 timed records, the 10 slowest kept: the 2 ms connect failure drops out.
    assert_eq!(report.slowest.len(), 10);
    assert_eq!(report.slowest[0].total_ms, 30_000.0);
    assert_eq!(report.slowest[9].total_ms, 3.0);
    // Totals sorted: 2 3 15 95 180 210 300 420 950 2400 30000 (11; the 304 counts).
    assert_eq!(report.total_ms.samples, 11);
    assert_eq!(report.total_ms.p50, Some(210.0), "rank ceil(5.5) = 6");
    assert_eq!(report.total_ms.p90, Some(2_400.0), "rank ceil(9.9) = 10");
    assert_eq!(report.total_ms.p99, Some(30_000.0), "rank ceil(10.89) = 11");
    // First bytes sorted: 12 45 60 80 90 120 150 200 (8).
    assert_eq!(report.ttfb_ms.samples, 8);
    assert_eq!(
        (report.ttfb_ms.p50, report.ttfb_ms.p90, report.ttfb_ms.p99),
        (Some(80.0), Some(200.0), Some(200.0))
    );
    let cdn = &report.throughput_by_host[0];
    assert_eq!(cdn.host, CDN);
    assert_eq!((cdn.images, cdn.bytes), (3, 204_800 + 512_000 + 3_145_728));
    assert!((cdn.seconds - 3.0).abs() < 1e-9);
    assert_eq!(cdn.bytes_per_second, Some(3_862_528.0 / 3.0));
    let d = report.duplicates;
    assert_eq!(
        (
            d.duplicate_url.bytes_saved,
            d.duplicate_content.bytes_saved,
            d.already_present.bytes_saved
        ),
        (204_800, 300_000, 204_800)
    );
    assert_eq!((d.total.images, d.total.bytes_saved), (3, 709_600));
    let f9 = &report.per_rocket[0];
    assert_eq!(f9.rocket.as_deref(), Some("Falcon 9 Block 5"));
    assert_eq!((f9.launches, f9.images, f9.failed), (6, 4, 2));
    assert_eq!(
        report.per_rocket.last().map(|r| r.rocket.is_none()),
        Some(true)
    );
    insta::assert_snapshot!("downloads_md", report.to_markdown());
    insta::assert_snapshot!("downloads_json", json(&report));
}

#[test]
fn each_failed_request_has_a_row_and_the_markdown_counts_them() {
    let attempt =
        |url: &str, class: &str, status: Option<u16>, error: &str| crate::record::FailedAttempt {
            url: url.into(),
            error_class: class.into(),
            error: error.into(),
            http_status: status,
            ms: 12.5,
        };
    let mut recovered = record("Flaky", None, Outcome::Downloaded, Some(CDN));
    recovered.failed_attempts = vec![attempt(
        "https://a/x.png",
        "http_5xx",
        Some(503),
        "HTTP 503",
    )];
    let mut lost = failed(
        record("Lost", None, Outcome::Failed, Some(CDN)),
        "connect",
        None,
    );
    lost.failed_attempts = vec![
        attempt(
            "https://a/y.png",
            "connect",
            None,
            "=HYPERLINK(\"http://evil\")",
        ),
        attempt("https://a/rocket.png", "http_4xx", Some(404), "HTTP 404"),
    ];
    let clean = record("Clean", None, Outcome::Downloaded, Some(CDN));
    let report = DownloadReport::build(&[recovered, lost, clean]);
    let md = report.to_markdown();
    assert!(
        md.contains("### Failed requests\n\n3 requests failed in all")
            && md.contains("1 picture was stored after such a failure"),
        "{md}"
    );
    let dir = tempfile::tempdir().unwrap();
    report.write(dir.path()).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("downloads_attempts.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "launch_id,launch_name,outcome,request,url,error_class,http_status,error,ms"
    );
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[1].starts_with("id-Flaky,Flaky,downloaded,1,https://a/x.png,http_5xx,503,"));
    assert!(rows[2].starts_with("id-Lost,Lost,failed,1,https://a/y.png,connect,,"));
    assert!(rows[3].starts_with("id-Lost,Lost,failed,2,https://a/rocket.png,http_4xx,404,"));
    // A cause from the network lands as text, not as a formula.
    assert!(rows[2].contains("'=HYPERLINK"), "{}", rows[2]);
    // Without failed requests the section is left out.
    let quiet = DownloadReport::build(&[record("Clean", None, Outcome::Downloaded, Some(CDN))]);
    assert!(!quiet.to_markdown().contains("Failed requests"));
}

#[test]
fn nearest_rank_percentiles() {
    let p = Percentiles::of((1..=10).map(f64::from));
    assert_eq!(
        (p.samples, p.p50, p.p90, p.p99),
        (10, Some(5.0), Some(9.0), Some(10.0))
    );
    let p = Percentiles::of([7.0]);
    assert_eq!((p.p50, p.p90, p.p99), (Some(7.0), Some(7.0), Some(7.0)));
    let p = Percentiles::of((1..=100).rev().map(f64::from));
    assert_eq!((p.p50, p.p90, p.p99), (Some(50.0), Some(90.0), Some(99.0)));
    let p = Percentiles::of([f64::NAN, -1.0, f64::INFINITY]);
    assert_eq!(
        p,
        Percentiles {
            samples: 0,
            p50: None,
            p90: None,
            p99: None
        }
    );
    let json = serde_json::to_value(p).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"samples": 0, "p50": null, "p90": null, "p99": null})
    );
}

#[test]
fn no_records_is_a_short_report() {
    let report = DownloadReport::build(&[]);
    assert_eq!((report.records, report.succeeded, report.failed), (0, 0, 0));
    assert!(report.by_outcome.iter().all(|c| c.count == 0));
    assert_eq!(report.total_ms.p50, None);
    assert_eq!(report.duplicates.total, Saved::default());
    insta::assert_snapshot!("downloads_empty_md", report.to_markdown());
}

#[test]
fn all_failures() {
    let records: Vec<ImageRecord> = sample_records()
        .into_iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .collect();
    let report = DownloadReport::build(&records);
    assert_eq!((report.records, report.succeeded, report.failed), (6, 0, 6));
    assert_eq!(report.throughput_by_host, []);
    assert_eq!(report.duplicates.total, Saved::default());
    assert!(report.per_launch.iter().all(|l| l.images == 0));
    let md = report.to_markdown();
    assert!(
        md.contains(
            "6 image records in this run (one per launch): 0 with the picture on disk after \
             the run, 6 failed, 0 without an image URL."
        ),
        "{md}"
    );
    assert!(md.contains("No picture was transferred."), "{md}");
    assert!(md.contains("| `failed` | 6 | 100.0% |"), "{md}");
    let dir = tempfile::tempdir().expect("tempdir");
    report.write(dir.path()).expect("write");
}

// ---- history report ----

fn run(run_id: &str, logical: &str, state: RunStateRecord) -> DagRunRecord {
    let logical = at(logical);
    DagRunRecord {
        dag_id: "listing_2_10".into(),
        run_id: run_id.into(),
        run_type: RunType::Scheduled,
        logical_date: logical,
        data_interval_start: logical,
        data_interval_end: logical + Duration::days(1),
        state,
        start: logical + Duration::days(1),
        end: None,
        conf: serde_json::json!({}),
    }
}

/// A try of `task` that started `offset_ms` after its run and took `ms` (`None`: running).
fn try_of(
    run: &DagRunRecord,
    task: &str,
    map_index: i32,
    try_number: u32,
    state: TaskStateRecord,
    offset_ms: i64,
    ms: Option<u64>,
) -> TaskInstanceRecord {
    let start = run.start + Duration::milliseconds(offset_ms);
    TaskInstanceRecord {
        dag_id: run.dag_id.clone(),
        run_id: run.run_id.clone(),
        task_id: task.into(),
        map_index,
        try_number,
        state,
        start,
        end: ms.map(|ms| start + Duration::milliseconds(ms as i64)),
        duration: ms.map(StdDuration::from_millis),
        hostname: "worker-1".into(),
        pid: Some(4242),
        log_path: None,
        error: None,
    }
}

fn images(downloaded: usize, other: usize) -> Vec<ImageRecord> {
    let mut out: Vec<ImageRecord> = (0..downloaded)
        .map(|i| record(&format!("d{i}"), None, Outcome::Downloaded, Some(CDN)))
        .collect();
    out.extend(
        (0..other).map(|i| record(&format!("o{i}"), None, Outcome::AlreadyPresent, Some(CDN))),
    );
    out
}

/// Runs of `listing_2_10` as of 2025-11-10 12:00 UTC: three in the period (one failed,
/// one with a mapped task), one running, one old, and one of another DAG.
fn sample_history() -> Vec<RunHistory> {
    use TaskStateRecord::*;
    let r1 = run(
        "scheduled__2025-11-01",
        "2025-11-01T00:00:00Z",
        RunStateRecord::Success,
    );
    let r2 = run(
        "scheduled__2025-11-02",
        "2025-11-02T00:00:00Z",
        RunStateRecord::Failed,
    );
    let r3 = run(
        "manual__2025-11-03",
        "2025-11-03T06:00:00Z",
        RunStateRecord::Success,
    );
    let r4 = run(
        "scheduled__2025-11-10",
        "2025-11-10T00:00:00Z",
        RunStateRecord::Running,
    );
    let old = run(
        "scheduled__2025-09-01",
        "2025-09-01T00:00:00Z",
        RunStateRecord::Success,
    );
    let mut other = run(
        "scheduled__2025-11-01",
        "2025-11-01T00:00:00Z",
        RunStateRecord::Failed,
    );
    other.dag_id = "another_dag".into();
    vec![
        RunHistory {
            task_instances: vec![
                try_of(
                    &r1,
                    "download_launches",
                    NOT_MAPPED,
                    1,
                    Success,
                    0,
                    Some(1_500),
                ),
                try_of(
                    &r1,
                    "get_pictures",
                    NOT_MAPPED,
                    1,
                    Success,
                    1_600,
                    Some(2_250),
                ),
                try_of(&r1, "notify", NOT_MAPPED, 1, Success, 3_900, Some(8)),
            ],
            images: Some(images(3, 2)),
            run: r1,
        },
        RunHistory {
            task_instances: vec![
                try_of(
                    &r2,
                    "download_launches",
                    NOT_MAPPED,
                    1,
                    UpForRetry,
                    0,
                    Some(1_000),
                ),
                try_of(
                    &r2,
                    "download_launches",
                    NOT_MAPPED,
                    2,
                    Failed,
                    3_000,
                    Some(4_000),
                ),
                try_of(
                    &r2,
                    "get_pictures",
                    NOT_MAPPED,
                    1,
                    UpstreamFailed,
                    7_000,
                    None,
                ),
                try_of(&r2, "notify", NOT_MAPPED, 1, UpstreamFailed, 7_000, None),
            ],
            images: None,
            run: r2,
        },
        RunHistory {
            task_instances: vec![
                try_of(
                    &r3,
                    "download_launches",
                    NOT_MAPPED,
                    1,
                    Success,
                    0,
                    Some(900),
                ),
                try_of(&r3, "get_pictures", 0, 1, Success, 1_000, Some(400)),
                try_of(&r3, "get_pictures", 1, 1, UpForRetry, 1_000, Some(5_000)),
                try_of(&r3, "get_pictures", 1, 2, Success, 7_000, Some(600)),
                try_of(&r3, "get_pictures", 2, 1, Success, 1_000, Some(1_000)),
                try_of(&r3, "notify", NOT_MAPPED, 1, Success, 8_000, Some(5)),
            ],
            images: Some(images(2, 0)),
            run: r3,
        },
        RunHistory {
            task_instances: vec![try_of(
                &r4,
                "download_launches",
                NOT_MAPPED,
                1,
                Running,
                0,
                None,
            )],
            images: None,
            run: r4,
        },
        RunHistory {
            task_instances: Vec::new(),
            images: Some(images(9, 0)),
            run: old,
        },
        RunHistory {
            task_instances: Vec::new(),
            images: Some(images(7, 0)),
            run: other,
        },
    ]
}

const NOW: &str = "2025-11-10T12:00:00Z";

#[test]
fn history_report_from_runs() {
    let report = HistoryReport::build("listing_2_10", "get_pictures", at(NOW), &sample_history());
    assert_eq!(report.first_day.to_string(), "2025-10-12");
    assert_eq!(report.images_per_day.len(), 30);
    let busy: Vec<(String, usize, usize)> = report
        .images_per_day
        .iter()
        .filter(|d| d.runs > 0)
        .map(|d| (d.date.to_string(), d.runs, d.images_downloaded))
        .collect();
    assert_eq!(
        busy,
        [
            ("2025-11-01".to_owned(), 1, 3),
            ("2025-11-02".to_owned(), 1, 0),
            ("2025-11-03".to_owned(), 1, 2),
            ("2025-11-10".to_owned(), 1, 0),
        ]
    );
    assert_eq!(report.runs_without_images, 2);
    let rate = report.success_rate;
    assert_eq!(
        (
            rate.overall.runs,
            rate.overall.finished,
            rate.overall.success
        ),
        (5, 4, 3)
    );
    assert_eq!(rate.overall.rate, Some(0.75));
    assert_eq!((rate.last_30_days.runs, rate.last_30_days.finished), (4, 3));
    assert_eq!(rate.last_30_days.rate, Some(2.0 / 3.0));
    assert_eq!(
        report.tasks,
        ["download_launches", "get_pictures", "notify"]
    );
    let seconds =
        |run: usize, task: usize| report.runs[run].tasks.get(task).and_then(|t| t.seconds);
    // Last tries only: the failed run's second try, the mapped task's elements summed.
    assert_eq!(seconds(1, 0), Some(4.0));
    assert_eq!(seconds(1, 1), None, "upstream_failed never ran");
    assert_eq!(seconds(2, 1), Some(2.0));
    assert_eq!(report.runs[2].tasks[1].map_elements, Some(3));
    assert_eq!(report.runs[0].tasks[1].map_elements, None);
    assert_eq!(report.runs[3].tasks.len(), 1);
    insta::assert_snapshot!("history_md", report.to_markdown());
}

#[test]
fn history_of_nothing() {
    let report = HistoryReport::build("listing_2_10", "get_pictures", at(NOW), &[]);
    assert_eq!(report.success_rate.overall.rate, None);
    assert!(report.images_per_day.iter().all(|d| d.runs == 0));
    let md = report.to_markdown();
    assert!(md.contains("No run in the period."), "{md}");
    assert!(
        md.contains("| All recorded runs | 0 | 0 | 0 | 0 | — |"),
        "{md}"
    );
}

#[test]
fn image_records_are_read_from_a_list_or_one_per_mapped_element() {
    let list = serde_json::to_string(&images(2, 1)).expect("json");
    let one = serde_json::to_string(&images(1, 0)[0]).expect("json");
    let outputs = vec![
        ("download_launches".to_owned(), NOT_MAPPED, "[]".to_owned()),
        ("get_pictures".to_owned(), 0, one.clone()),
        ("get_pictures".to_owned(), 1, "\"not records\"".to_owned()),
        ("get_pictures".to_owned(), 2, list),
    ];
    let read = images_from_outputs("r", "get_pictures", &outputs).expect("records");
    assert_eq!(read.len(), 4);
    assert_eq!(images_from_outputs("r", "notify", &outputs), None);
    let bad = vec![("get_pictures".to_owned(), NOT_MAPPED, "{}".to_owned())];
    assert_eq!(images_from_outputs("r", "get_pictures", &bad), None);
}

#[tokio::test]
async fn history_report_from_a_real_store() {
    let home = tempfile::tempdir().expect("tempdir");
    let store = Store::open_home(home.path()).await.expect("store");
    // A DAG id of its own, in case ROCKET_DAG_DATABASE_URL points at a shared database.
    let suffix: String = home
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("x")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let dag_id = format!("reports_{suffix}");
    let mut history = sample_history();
    history.retain(|h| h.run.dag_id == "listing_2_10");
    for h in &mut history {
        h.run.dag_id = dag_id.clone();
        for ti in &mut h.task_instances {
            ti.dag_id = dag_id.clone();
        }
        store.upsert_run(&h.run).await.expect("upsert run");
        // The images task's output is recorded with its (last, successful) try, as the
        // runner does: the whole list, or one record per mapped element.
        let last_images_try: HashMap<i32, u32> = h
            .task_instances
            .iter()
            .filter(|t| t.task_id == "get_pictures")
            .fold(HashMap::new(), |mut m, t| {
                let n = m.entry(t.map_index).or_insert(0);
                *n = (*n).max(t.try_number);
                m
            });
        let outputs: Vec<(TaskInstanceRecord, Option<String>)> = h
            .task_instances
            .iter()
            .map(|t| {
                let is_output = t.task_id == "get_pictures"
                    && t.state == TaskStateRecord::Success
                    && last_images_try.get(&t.map_index) == Some(&t.try_number);
                let output = match (&h.images, is_output, t.map_index) {
                    (Some(images), true, NOT_MAPPED) => Some(serde_json::to_string(images)),
                    (Some(images), true, i) => images.get(i as usize).map(serde_json::to_string),
                    _ => None,
                };
                (t.clone(), output.map(|o| o.expect("json")))
            })
            .collect();
        let tries: Vec<(TaskInstanceRecord, Option<&str>)> = outputs
            .iter()
            .map(|(t, o)| (t.clone(), o.as_deref()))
            .collect();
        store.record_tries(&tries).await.expect("record tries");
    }
    let loaded = HistoryReport::load(&store, &dag_id, "get_pictures", at(NOW))
        .await
        .expect("load");
    // The old run's records are not read (outside the period); the mapped run's three
    // elements carry the first three of its records.
    for h in &mut history {
        let day = h.run.logical_date.date_naive();
        if day < loaded.first_day {
            h.task_instances.clear();
            h.images = None;
        }
    }
    let expected = HistoryReport::build(&dag_id, "get_pictures", at(NOW), &history);
    assert_eq!(loaded.images_per_day, expected.images_per_day);
    assert_eq!(loaded.success_rate, expected.success_rate);
    assert_eq!(loaded.tasks, expected.tasks);
    assert_eq!(loaded.runs, expected.runs);
    assert_eq!(loaded, expected);
    store.close().await;
}

// ---- files ----

/// Every file in `dir`, sorted, hidden ones included.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    names
}

#[test]
fn write_all_leaves_only_the_final_files_and_overwrites_them() {
    let home = tempfile::tempdir().expect("tempdir");
    let dir = home
        .path()
        .join("data/listing_2_10/reports/manual__2025-11-02T00:00:00+00:00");
    let launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
    let history = HistoryReport::build("listing_2_10", "get_pictures", at(NOW), &sample_history());
    let logical = at("2025-11-02T00:00:00Z");
    let written =
        write_all(&dir, &launches, logical, &sample_records(), Some(&history)).expect("write");
    let expected = [
        "downloads.csv",
        "downloads.json",
        "downloads.md",
        "downloads_attempts.csv",
        "downloads_images.csv",
        "downloads_slowest.csv",
        "downloads_summary.csv",
        "history.csv",
        "history.json",
        "history.md",
        "history_durations.csv",
        "history_errors.csv",
        "history_pictures.csv",
        "history_runs.csv",
        "history_success_rate.csv",
        "launches.csv",
        "launches.json",
        "launches.md",
        "launches_counts.csv",
        "launches_intervals.csv",
        "launches_per_day.svg",
        "launches_per_family.svg",
        "launches_per_month.svg",
        "launches_per_provider.svg",
    ];
    assert_eq!(listing(&dir), expected, "no temporary file left behind");
    let mut names: Vec<String> = written
        .iter()
        .map(|p| {
            p.strip_prefix(&dir)
                .expect("in dir")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, expected);
    let md = std::fs::read_to_string(dir.join("launches.md")).expect("md");
    assert_eq!(md, LaunchReport::build(&launches, logical).to_markdown());
    let written_json = std::fs::read_to_string(dir.join("downloads.json")).expect("json");
    assert_eq!(
        written_json,
        json(&DownloadReport::build(&sample_records())) + "\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("launches.md"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o600, 0o600);
        assert_ne!(
            mode & 0o044,
            0,
            "readable beyond the owner (umask permitting)"
        );
    }

    // Again, with other data: every file replaced, still nothing else in the directory.
    write_all(&dir, &[], logical, &[], None).expect("rewrite");
    assert_eq!(listing(&dir), expected);
    let md = std::fs::read_to_string(dir.join("launches.md")).expect("md");
    assert!(md.contains("no launches"), "{md}");
}

#[test]
fn a_failed_write_names_the_file_and_leaves_no_temporary_file() {
    let home = tempfile::tempdir().expect("tempdir");
    // `downloads.md` is a directory: the rename onto it fails.
    std::fs::create_dir_all(home.path().join("downloads.md/x")).expect("mkdir");
    let err = DownloadReport::build(&[])
        .write(home.path())
        .expect_err("cannot replace a directory");
    assert!(
        matches!(&err, ReportError::Write { path, .. } if path.ends_with("downloads.md")),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("cannot write the report file "),
        "{err}"
    );
    assert!(
        listing(home.path()).iter().all(|n| !n.ends_with(".tmp")),
        "{:?}",
        listing(home.path())
    );
}

/// Reads a CSV file back with the csv crate: its header and rows.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).expect("open csv");
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

#[test]
fn csv_cells_cannot_run_as_formulas() {
    let cell = |s: &str| csv_cell(s.to_owned());
    for hostile in [
        "=HYPERLINK(\"http://x\",\"y\")",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1)",
        "\t=1+1",
        "\r=1+1",
    ] {
        assert!(
            cell(hostile).starts_with('\''),
            "{hostile:?} -> {:?}",
            cell(hostile)
        );
    }
    // Numbers and plain text stay as they are.
    for plain in ["-3.5", "+1e3", "42", "Falcon 9 Block 5 | Starlink", "a-b=c"] {
        assert_eq!(cell(plain), plain);
    }
    // Controls go: NUL and escapes removed, line breaks as spaces.
    assert_eq!(cell("a\0b\x1b[31mc\nd"), "ab[31mc d");
}

#[test]
fn hostile_launch_data_lands_inert_in_csv_and_markdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
    launches[0].name = "=HYPERLINK(\"http://evil\")\0\x1b[2J".to_owned();
    launches[0].id = "@id\r\nforged".to_owned();
    let mut records = sample_records();
    records[0].launch_name = "+cmd|' /C calc'!A0".to_owned();
    write_all(
        dir.path(),
        &launches,
        at("2025-11-02T00:00:00Z"),
        &records,
        None,
    )
    .expect("write");
    for file in ["launches.csv", "downloads.csv", "downloads_slowest.csv"] {
        let (_, rows) = read_csv(&dir.path().join(file));
        for cell in rows.iter().flatten() {
            assert!(
                !cell.starts_with(['=', '+', '@']) || cell.parse::<f64>().is_ok(),
                "{file}: {cell:?}"
            );
            assert!(!cell.chars().any(char::is_control), "{file}: {cell:?}");
        }
    }
    let csv = std::fs::read_to_string(dir.path().join("launches.csv")).unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    for md in ["launches.md", "downloads.md"] {
        let text = std::fs::read_to_string(dir.path().join(md)).unwrap();
        assert!(!text.contains('\0') && !text.contains('\x1b'), "{md}");
    }
}

#[test]
fn csv_files_parse_back_with_their_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
    let history = HistoryReport::build("listing_2_10", "get_pictures", at(NOW), &sample_history());
    write_all(
        dir.path(),
        &launches,
        at("2025-11-02T00:00:00Z"),
        &sample_records(),
        Some(&history),
    )
    .expect("write");

    let (header, rows) = read_csv(&dir.path().join("launches.csv"));
    assert_eq!(
        header,
        [
            "id",
            "name",
            "net_utc",
            "net_local",
            "zone",
            "zone_abbreviation",
            "zone_fallback",
            "window",
            "status",
            "provider",
            "rocket",
            "rocket_family",
            "pad",
            "location",
            "country",
            "mission",
            "orbit"
        ]
    );
    assert_eq!(rows.len(), 5);
    // The `|` in a launch name survives the round trip.
    assert_eq!(rows[0][1], "Falcon 9 Block 5 | Starlink Group 11-23");
    assert_eq!(rows[0][2], "2025-10-31T20:41:10Z");
    assert_eq!(rows[0][3], "2025-10-31T13:41:10-07:00");
    assert_eq!(
        (
            rows[0][4].as_str(),
            rows[0][5].as_str(),
            rows[0][7].as_str()
        ),
        ("America/Los_Angeles", "PDT", "before")
    );

    let (header, rows) = read_csv(&dir.path().join("launches_counts.csv"));
    assert_eq!(header, ["dimension", "value", "launches"]);
    assert!(rows.contains(&vec![
        "provider".to_owned(),
        "SpaceX".to_owned(),
        "2".to_owned()
    ]));
    let (header, rows) = read_csv(&dir.path().join("launches_intervals.csv"));
    assert_eq!(
        header,
        [
            "from_id",
            "from_name",
            "from_net",
            "to_id",
            "to_name",
            "to_net",
            "gap_seconds"
        ]
    );
    assert_eq!(rows.len(), 4);

    let (header, rows) = read_csv(&dir.path().join("downloads.csv"));
    assert_eq!(
        header,
        ["launch_id", "launch_name", "rocket", "outcomes", "images"]
    );
    assert_eq!(rows.len(), 14);
    let (header, rows) = read_csv(&dir.path().join("downloads_summary.csv"));
    assert_eq!(header, ["table", "key", "metric", "value"]);
    assert!(rows.contains(&vec![
        "total_ms".into(),
        "p90".into(),
        "ms".into(),
        "2400".into()
    ]));
    assert!(rows.contains(&vec![
        "duplicates".into(),
        "total".into(),
        "bytes_saved".into(),
        "709600".into()
    ]));
    let (header, rows) = read_csv(&dir.path().join("downloads_slowest.csv"));
    assert_eq!(
        header,
        [
            "rank",
            "launch_id",
            "launch_name",
            "outcome",
            "host",
            "total_ms",
            "ttfb_ms",
            "bytes"
        ]
    );
    assert_eq!(rows.len(), 10);
    // The charts: one bar per month of the launches' NETs.
    let month = std::fs::read_to_string(dir.path().join("launches_per_month.svg")).expect("svg");
    assert!(month.contains(">2025-11</text>"), "{month}");
    // And one bar per day.
    let day = std::fs::read_to_string(dir.path().join("launches_per_day.svg")).expect("svg");
    let days: std::collections::BTreeSet<String> = fixture("v2.2.0-upcoming-limit5-2025-11.json")
        .iter()
        .filter_map(|l| l.net)
        .map(|n| n.format("%Y-%m-%d").to_string())
        .collect();
    assert!(!days.is_empty());
    for d in &days {
        assert!(day.contains(&format!(">{d}</text>")), "{d}: {day}");
    }
    // Every record, one row each, the failures with their cause.
    let (header, rows) = read_csv(&dir.path().join("downloads_images.csv"));
    assert_eq!(header.len(), 17);
    assert_eq!(rows.len(), sample_records().len());
    let class = header.iter().position(|h| h == "error_class").unwrap();
    let outcome = header.iter().position(|h| h == "outcome").unwrap();
    for (row, record) in rows.iter().zip(sample_records()) {
        assert_eq!(row[outcome], record.outcome.as_str());
        assert_eq!(row[class], record.error_class.clone().unwrap_or_default());
    }

    let (header, rows) = read_csv(&dir.path().join("history.csv"));
    assert_eq!(header, ["date", "runs", "images_downloaded"]);
    assert_eq!(rows.len(), 30);
    let (header, rows) = read_csv(&dir.path().join("history_success_rate.csv"));
    assert_eq!(
        header,
        ["scope", "runs", "finished", "success", "failed", "rate"]
    );
    assert_eq!(rows[1], ["overall", "5", "4", "3", "1", "0.75"]);
    let (header, rows) = read_csv(&dir.path().join("history_durations.csv"));
    assert_eq!(
        header,
        [
            "logical_date",
            "run_id",
            "run_state",
            "task_id",
            "map_elements",
            "seconds"
        ]
    );
    assert!(rows.contains(&vec![
        "2025-11-03T06:00:00Z".into(),
        "manual__2025-11-03".into(),
        "success".into(),
        "get_pictures".into(),
        "3".into(),
        "2".into()
    ]));
}

#[test]
fn markdown_escapes_what_tables_would_interpret() {
    assert_eq!(
        text("Falcon 9 | Starlink *1* [a]_b_\nnext"),
        r"Falcon 9 \| Starlink \*1\* \[a\]\_b\_ next"
    );
    assert_eq!(code("a|b"), r"`a\|b`");
    assert_eq!(code("has`tick"), r"has\`tick");
    let mut l = launch("x", Some("2025-01-01T00:00:00Z"));
    l.mission = Some("Line one\nline | two".into());
    let md = LaunchReport::build(&[l], at("2025-01-01T00:00:00Z")).to_markdown();
    assert!(md.contains(r"Line one line \| two"), "{md}");
    let key_table: Vec<&str> = md
        .split("## Launches\n")
        .nth(1)
        .expect("key table")
        .lines()
        .take_while(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with('|'))
        .collect();
    assert_eq!(key_table.len(), 3, "header, alignment, one launch");
    for line in key_table {
        // 11 columns, 12 unescaped separators, whatever the names contain.
        assert_eq!(line.replace(r"\|", "").matches('|').count(), 12, "{line}");
    }
}

#[test]
fn numbers_are_formatted_for_reading() {
    assert_eq!(fmt_int(0), "0");
    assert_eq!(fmt_int(999), "999");
    assert_eq!(fmt_int(1_234_567), "1,234,567");
    assert_eq!(fmt_bytes(512), "512 B");
    assert_eq!(fmt_bytes(204_800), "200.0 KiB");
    assert_eq!(fmt_bytes(3_145_728), "3.0 MiB");
    assert_eq!(fmt_rate(100.0), "100 B/s");
    assert_eq!(fmt_rate(1_572_864.0), "1.5 MiB/s");
    assert_eq!(fmt_ms(4.24), "4.2 ms");
    assert_eq!(fmt_ms(180.4), "180 ms");
    assert_eq!(fmt_ms(999.7), "1.00 s");
    assert_eq!(fmt_ms(2_400.0), "2.40 s");
    assert_eq!(fmt_ms(125_000.0), "2 min 5 s");
    assert_eq!(fmt_span(42), "42 s");
    assert_eq!(fmt_span(3 * 3600 + 12 * 60 + 5), "3 h 12 min");
    assert_eq!(fmt_span(2 * 86_400 + 3 * 3600), "2 d 3 h");
    assert_eq!(fmt_pct(2.0 / 3.0), "66.7%");
    assert_eq!(bar(1, 100), "█");
    assert_eq!(bar(100, 100).chars().count(), 20);
    assert_eq!(bar(0, 100), "");
}

#[test]
fn history_counts_errors_per_day_and_class_and_ranks_pictures_by_use() {
    let failed = |launch: &str, class: &str| ImageRecord {
        error_class: Some(class.into()),
        ..record(launch, None, Outcome::Failed, Some(CDN))
    };
    let mut history = sample_history();
    // 2025-11-01: two timeouts and a 5xx beside 5 pictures; 2025-11-03: d0 fails again.
    let first = history
        .iter_mut()
        .find(|h| h.run.run_id == "scheduled__2025-11-01" && h.run.dag_id == "listing_2_10")
        .unwrap();
    let images = first.images.as_mut().unwrap();
    images.extend([
        failed("t1", "timeout"),
        failed("t2", "timeout"),
        failed("s1", "http_5xx"),
    ]);
    let third = history
        .iter_mut()
        .find(|h| h.run.run_id == "manual__2025-11-03")
        .unwrap();
    third.images.as_mut().unwrap().push(failed("t1", "timeout"));
    let report = HistoryReport::build("listing_2_10", "get_pictures", at(NOW), &history);

    let day = |d: &str| {
        report
            .images_per_day
            .iter()
            .find(|x| x.date.to_string() == d)
            .unwrap()
    };
    assert_eq!(day("2025-11-01").image_records, 8);
    assert_eq!(
        day("2025-11-01").failures_by_class,
        [("timeout".to_owned(), 2), ("http_5xx".to_owned(), 1)]
    );
    assert_eq!(
        day("2025-11-03").failures_by_class,
        [("timeout".to_owned(), 1)]
    );

    // The runs: new, present and failed pictures, hours since the previous run.
    let runs: Vec<_> = report
        .runs
        .iter()
        .map(|r| {
            (
                r.images_downloaded,
                r.images_present,
                r.images_failed,
                r.hours_since_previous,
            )
        })
        .collect();
    assert_eq!(
        runs,
        [
            (Some(3), Some(2), Some(3), None),
            (None, None, None, Some(24.0)),
            (Some(2), Some(0), Some(1), Some(30.0)),
            (None, None, None, Some(162.0)),
        ]
    );

    // t1 was needed by two runs and failed in both: it ranks with d0 and d1 (two runs each,
    // but they were downloaded), after them.
    let top: Vec<(&str, usize, usize, usize)> = report
        .pictures
        .iter()
        .take(3)
        .map(|p| (p.launch_name.as_str(), p.runs, p.downloaded, p.failed))
        .collect();
    assert_eq!(top, [("d0", 2, 2, 0), ("d1", 2, 2, 0), ("t1", 2, 0, 2)]);

    let md = report.to_markdown();
    assert!(
        md.contains("| 2025-11-01 | 8 | 3 | 37.5% | `timeout` 2, `http_5xx` 1 |"),
        "{md}"
    );
}
