//! Tests of the run report: the page from a report's data, and reading logs and report files.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::format::{
    first_sentence, fmt_secs, human_bytes, markdown_to_html, pretty_json, truncate,
};
use super::load::{check_location, read_log, read_log_limited, read_result};
use super::*;
use crate::store::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, TaskInstanceRecord, TaskStateRecord,
};
use crate::viz::{RunHistory, state_color};

fn at(s: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(1_704_067_200 + i64::from(s), 0).unwrap()
}

fn try_of(task: &str, map_index: i32, n: u32, state: TaskStateRecord) -> TaskInstanceRecord {
    TaskInstanceRecord {
        dag_id: "rockets".into(),
        run_id: "manual__2024-01-01T00:00:00+00:00".into(),
        task_id: task.into(),
        map_index,
        try_number: n,
        state,
        start: at(n),
        end: Some(at(n + 1)),
        duration: Some(Duration::from_millis(1250)),
        hostname: "host".into(),
        pid: Some(1),
        log_path: Some(format!("/nowhere/{task}/attempt={n}.log")),
        error: (state == TaskStateRecord::UpForRetry).then(|| "HTTP 503 <b>".to_owned()),
    }
}

fn log(t: &TaskInstanceRecord, text: &str) -> AttemptLog {
    AttemptLog {
        task_id: t.task_id.clone(),
        map_index: t.map_index,
        try_number: t.try_number,
        log: LogText::Text {
            text: text.into(),
            cut: 0,
            total: text.len() as u64,
        },
    }
}

fn report() -> Report {
    use TaskStateRecord as S;
    let tries = vec![
        try_of("download", NOT_MAPPED, 1, S::UpForRetry),
        try_of("download", NOT_MAPPED, 2, S::Success),
        try_of("picture", 0, 1, S::Success),
        try_of("picture", 1, 1, S::Failed),
    ];
    let logs = vec![
        log(
            &tries[0],
            "starting attempt 1\n<script>alert('x')</script>\n",
        ),
        log(&tries[1], "starting attempt 2\nmarking task as SUCCESS\n"),
        log(&tries[2], "picture 0 & done\n"),
        AttemptLog {
            log: LogText::Unreadable {
                path: "/nowhere/picture/attempt=1.log".into(),
                reason: "the file is missing".into(),
            },
            ..log(&tries[3], "")
        },
    ];
    Report {
        dag_id: "rockets".into(),
        description: "Download **launches**.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n".into(),
        dag_source: "#[dag]\nfn rockets() {\n    picture(download());\n}".into(),
        tasks: vec![
            TaskCode {
                id: "download".into(),
                doc: "Fetch the launches.".into(),
                source: "async fn download() -> Vec<u8> { vec![] }".into(),
                mapped: false,
            },
            TaskCode {
                id: "picture".into(),
                doc: String::new(),
                source: "async fn picture(x: u8) {}".into(),
                mapped: true,
            },
        ],
        history: RunHistory {
            run: DagRunRecord {
                dag_id: "rockets".into(),
                run_id: "manual__2024-01-01T00:00:00+00:00".into(),
                run_type: RunType::Manual,
                logical_date: at(0),
                data_interval_start: at(0),
                data_interval_end: at(86_400),
                state: RunStateRecord::Failed,
                start: at(0),
                end: Some(at(10)),
                conf: serde_json::json!({}),
            },
            tries,
        },
        logs,
        outputs: vec![
            TaskOutput {
                task_id: "download".into(),
                map_index: NOT_MAPPED,
                json: r#"{"launches":[1,2,3],"note":"<i>x</i>"}"#.into(),
            },
            TaskOutput {
                task_id: "picture".into(),
                map_index: 0,
                json: "\"a.png\"".into(),
            },
        ],
        files: vec![ResultAsset {
            asset_id: "reports".into(),
            label: "Launch reports".into(),
            written_by: vec!["download".into()],
            location: "reports/manual".into(),
            content: ResultContent::Folder(vec![
                FolderEntry {
                    name: "launches.md".into(),
                    size: 40,
                    is_dir: false,
                    content: Some(FileContent::Markdown {
                        text: "# Launches\n\n<iframe src=\"https://evil.example\"></iframe>\n\n| n |\n|---|\n| 3 |\n".into(),
                        cut: 0,
                    }),
                },
                FolderEntry {
                    name: "launches.csv".into(),
                    size: 2048,
                    is_dir: false,
                    content: None,
                },
            ]),
        }],
        graph_svg: r#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="1" height="1"/></svg>"#.into(),
        lanes_svg: String::new(),
        architecture_svg: String::new(),
        architecture_nodes: 0,
        gantt_svg: r#"<svg xmlns="http://www.w3.org/2000/svg"></svg>"#.into(),
        generated_at: at(20),
    }
}

#[test]
fn every_section_is_there_in_order() {
    let html = report().html();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains(r#"<meta charset="utf-8">"#));
    assert!(html.contains("default-src 'none'; style-src 'unsafe-inline'; img-src data:"));
    let mut last = 0;
    for (id, title) in SECTIONS {
        let at = html
            .find(&format!(r#"<section id="{id}">"#))
            .unwrap_or_else(|| panic!("no section {id}"));
        assert!(at > last, "{id} out of order");
        last = at;
        assert!(html[at..].contains(&format!("<h2>{title}</h2>")));
        assert!(html.contains(&format!(r##"<a href="#{id}">"##)));
    }
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("<?xml"),
        "XML declaration left in an inline SVG"
    );
    assert!(
        html.contains(r#"<div class="figure"><svg xmlns="http://www.w3.org/2000/svg" width="10""#)
    );
    assert!(html.contains("No swimlane picture is available."));
    assert!(html.contains("No task declares reads/writes"));
}

#[test]
fn summary_statement_code_and_results_show_the_data() {
    let html = report().html();
    assert!(html.contains("manual__2024-01-01T00:00:00+00:00"));
    assert!(html.contains("2024-01-01 00:00:00.000 UTC → 2024-01-02 00:00:00.000 UTC"));
    assert!(html.contains("10.000s"));
    // picture: two instances, one failed.
    assert!(html.contains("2 (1 failed, 1 success)"), "{html}");
    assert!(html.contains(&format!(
        "background: {}",
        state_color(TaskStateRecord::Failed)
    )));
    assert!(html.contains("<strong>launches</strong>"));
    assert!(html.contains("<table>"));
    assert!(html.contains("fn rockets() {\n    picture(download());\n}"));
    assert!(html.contains("async fn download() -&#62; Vec&#60;u8&#62; { vec![] }"));
    assert!(
        html.contains(
            "<code>download</code> <span class=\"headline\">— Fetch the launches.</span>"
        )
    );
    assert!(html.contains("attempt 1 — up_for_retry — 1.250s"));
    assert!(html.contains("attempt 2 — success — 1.250s"));
    assert!(html.contains("HTTP 503 &#60;b&#62;"));
    assert!(html.contains("No log: /nowhere/picture/attempt=1.log: the file is missing."));
    assert!(html.contains("&#34;note&#34;: &#34;&#60;i&#62;x&#60;/i&#62;&#34;"));
    assert!(html.contains("picture — 1 outputs"));
    assert!(html.contains("<h1>Launches</h1>"));
    assert!(html.contains("launches.csv"));
    assert!(html.contains("2.0 KiB"));
}

#[test]
fn log_text_is_escaped() {
    let html = report().html();
    assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;"));
    assert!(html.contains("picture 0 &#38; done"));
    assert!(!html.contains("<script>"));
}

#[test]
fn raw_html_in_markdown_is_text() {
    let md = "Hi <b onclick=\"x()\">there</b>\n\n<script>alert(1)</script>\n\n<img src=\"https://evil.example/a.png\">\n\n[site](https://example.com/page) and ![logo](http://example.com/l.png) and <https://example.org/>\n";
    let html = markdown_to_html(md);
    assert!(!html.contains("<b "), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("href="), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("site (https://example.com/page)"), "{html}");
    assert!(html.contains("[image: logo]"), "{html}");
    assert!(html.contains("https://example.org/"), "{html}");
    assert!(
        !html.contains("https://example.org/ (https://example.org/)"),
        "{html}"
    );

    let mut r = report();
    r.description = "<script>alert(1)</script>\n\n<style>body{display:none}</style>".into();
    let page = r.html();
    assert!(!page.contains("<script"));
    assert!(page.contains("&lt;style&gt;body{display:none}&lt;/style&gt;"));
    // The report file's iframe too.
    assert!(!page.contains("<iframe"));
    assert!(page.contains("&lt;iframe"));
}

#[test]
fn locations_outside_the_data_directory_are_refused() {
    for bad in [
        "../secret",
        "reports/../../etc/passwd",
        "/etc/passwd",
        "https://example.com/report",
        "",
        "..",
    ] {
        assert!(check_location(bad).is_err(), "{bad:?} accepted");
    }
    for good in [
        "reports/manual__2024-01-01T00:00:00+00:00",
        "./a.md",
        "x..y/z.md",
    ] {
        assert!(check_location(good).is_ok(), "{good:?} refused");
    }
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data/rockets");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(home.path().join("data/secret.md"), "secret").unwrap();
    assert!(matches!(
        read_result(&data, "../secret.md"),
        ResultContent::Refused(_)
    ));
    std::os::unix::fs::symlink(home.path().join("data/secret.md"), data.join("link.md")).unwrap();
    assert!(matches!(
        read_result(&data, "link.md"),
        ResultContent::Refused(_)
    ));
    assert_eq!(read_result(&data, "nothing"), ResultContent::Missing);
    // A link inside a report folder is listed, not followed.
    std::fs::create_dir_all(data.join("reports")).unwrap();
    std::fs::write(data.join("reports/ok.md"), "# fine").unwrap();
    std::os::unix::fs::symlink(
        home.path().join("data/secret.md"),
        data.join("reports/leak.md"),
    )
    .unwrap();
    let ResultContent::Folder(entries) = read_result(&data, "reports") else {
        panic!("a folder")
    };
    let leak = entries.iter().find(|e| e.name == "leak.md").unwrap();
    assert!(leak.content.is_none(), "the link was read");
    let ok = entries.iter().find(|e| e.name == "ok.md").unwrap();
    assert!(ok.content.is_some());

    let mut r = report();
    r.files[0].content = read_result(&data, "../secret.md");
    let html = r.html();
    assert!(
        html.contains("Not read: `../secret.md` leaves the DAG"),
        "{html}"
    );
    assert!(!html.contains(">secret<"));
}

#[test]
fn report_folders_and_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports/run1");
    std::fs::create_dir_all(reports.join("sub")).unwrap();
    std::fs::write(reports.join("launches.md"), "# Launches\n\n3 launches\n").unwrap();
    std::fs::write(reports.join("launches.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(dir.path().join("one.json"), r#"{"a":[1,2]}"#).unwrap();
    std::fs::write(dir.path().join("one.txt"), "plain <text>").unwrap();
    std::fs::write(dir.path().join("one.bin"), [0u8, 159, 146, 150]).unwrap();
    let ResultContent::Folder(entries) = read_result(dir.path(), "reports/run1") else {
        panic!("not a folder")
    };
    let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["launches.csv", "launches.md", "sub"]);
    assert!(entries[0].content.is_none());
    assert_eq!(entries[0].size, 8);
    assert!(matches!(
        entries[1].content,
        Some(FileContent::Markdown { cut: 0, .. })
    ));
    assert!(entries[2].is_dir);
    assert_eq!(
        read_result(dir.path(), "one.json"),
        ResultContent::File(FileContent::Json(r#"{"a":[1,2]}"#.into()))
    );
    assert!(matches!(
        read_result(dir.path(), "one.txt"),
        ResultContent::File(FileContent::Text { cut: 0, .. })
    ));
    assert_eq!(
        read_result(dir.path(), "one.bin"),
        ResultContent::File(FileContent::Binary { size: 4 })
    );
    let mut r = report();
    r.files[0].content = read_result(dir.path(), "one.json");
    assert!(r.html().contains("&#34;a&#34;: [\n    1,"));
    r.files[0].content = read_result(dir.path(), "one.txt");
    assert!(r.html().contains("<pre>plain &#60;text&#62;</pre>"));
}

#[test]
fn long_logs_keep_their_tail_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("attempt=1.log");
    let text: String = (0..1000).map(|i| format!("line {i} é\n")).collect();
    std::fs::write(&p, &text).unwrap();
    let LogText::Text {
        text: kept,
        cut,
        total,
    } = read_log_limited(&p, 1000)
    else {
        panic!("not read")
    };
    assert_eq!(total, text.len() as u64);
    assert!(kept.starts_with("line "), "starts mid-line: {kept:?}");
    assert!(kept.ends_with("line 999 é\n"));
    assert_eq!(cut + kept.len() as u64, total);
    assert!(kept.len() <= 1000);

    assert!(matches!(
        read_log(&dir.path().join("missing.log")),
        LogText::Unreadable { ref reason, .. } if reason == "the file is missing"
    ));

    let mut r = report();
    r.logs[1].log = LogText::Text {
        text: kept,
        cut,
        total,
    };
    let html = r.html();
    assert!(html.contains("Truncated: the first "), "{html}");
    assert!(html.contains("are left out; the last"));
}

#[test]
fn long_outputs_are_cut_with_a_note() {
    let big: Vec<String> = (0..5000).map(|i| format!("launch number {i}")).collect();
    let json = serde_json::to_string(&big).unwrap();
    let (kept, note) = pretty_json(&json);
    assert!(kept.len() <= JSON_LIMIT);
    assert!(note.unwrap().starts_with("Truncated: showing the first"));
    let (same, none) = pretty_json("[1]");
    assert_eq!((same.as_str(), none), ("[\n  1\n]", None));
    // Never inside a character.
    let (cut, _) = truncate("ééé", 3);
    assert_eq!(cut, "é");

    let mut r = report();
    r.outputs[0].json = json;
    let html = r.html();
    assert!(
        html.contains("Truncated: showing the first 20.0 KiB")
            || html.contains("Truncated: showing the first 19."),
        "{html}"
    );
}

#[test]
fn the_print_page_opens_every_block() {
    let r = report();
    let screen = r.html();
    let print = r.print_html();
    let closed = |h: &str| h.matches("<details>").count() + h.matches("<details id=").count();
    assert!(closed(&screen) > 0);
    assert_eq!(closed(&print), 0, "{print}");
    assert_eq!(
        screen.matches("<details").count(),
        print.matches("<details").count()
    );
    assert!(print.contains("@media print"));
    assert!(print.contains("@page"));
}

#[test]
fn helpers() {
    assert_eq!(
        first_sentence("Fetch the launches (every\npage) and store them. Then more.\n\nDetails."),
        "Fetch the launches (every page) and store them."
    );
    assert!(first_sentence(&"word ".repeat(100)).ends_with('…'));
    assert_eq!(human_bytes(512), "512 B");
    assert_eq!(human_bytes(20 * 1024), "20.0 KiB");
    assert_eq!(fmt_secs(Duration::from_millis(28)), "0.028s");
    assert_eq!(fmt_secs(Duration::from_secs(125)), "2m 05.0s");
}
