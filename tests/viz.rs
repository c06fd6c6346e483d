//! The run report of a real run: `rocket_launches` against the in-process mock Launch
//! Library 2 server, recorded in a store, turned into one HTML page; then the page opened in
//! headless Chromium (every section there, nothing fetched) and printed to PDF.
//!
//! The Chromium tests are skipped (with a message) when no browser is installed, unless
//! `ROCKET_DAG_REQUIRE_CHROMIUM=1` (CI installs Debian's `chromium`), which makes them fail.
//! The page, its screenshot and its PDF are left in `target/tmp/viz-report/` to look at.

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use dags::mock::{MockConfig, MockServer};
use rocket_dag::prelude::*;
use rocket_dag::store::Store;
use rocket_dag::viz::chromium;
use rocket_dag::viz::report::{self, Report, SECTIONS};

/// A runner with the console and attempt log files installed, as the command line does.
fn logged_runner(home: impl Into<std::path::PathBuf>) -> Runner {
    rocket_dag::logging::init();
    Runner::new(home)
}

/// What every test looks at: one run's report, written out.
struct Fixture {
    report: Report,
    html: String,
    /// `report.html` (and, from the browser tests, `report.png` and `report.pdf`) here.
    dir: PathBuf,
    html_path: PathBuf,
    /// The run's home (its data folder holds the report files).
    _home: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // Its own runtime on its own thread: the tests calling this are plain `#[test]`s.
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(make_fixture())
        })
        .join()
        .unwrap()
    })
}

async fn make_fixture() -> Fixture {
    let server = MockServer::start(MockConfig::default().with_page_size(5))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let store = Store::open_home(home.path()).await.unwrap();
    let dag = dags::rocket_launches::rocket_launches();
    let date = rocket_dag::cli::parse_date("2024-01-01").unwrap();
    let run = logged_runner(home.path())
        .with_store(store.clone())
        .run(
            &dag,
            RunRequest::new(date).param("launches_url", server.launches_url()),
        )
        .await;
    assert_eq!(run.state, RunState::Success, "{}", run.summary_table());
    let report = report::build(&dag, &store, home.path(), Some(&run.run_id))
        .await
        .unwrap();
    store.close().await;
    let html = report.html();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("viz-report");
    std::fs::create_dir_all(&dir).unwrap();
    let html_path = dir.join("report.html");
    std::fs::write(&html_path, &html).unwrap();
    std::fs::write(dir.join("report-print.html"), report.print_html()).unwrap();
    eprintln!("report: {}", html_path.display());
    Fixture {
        report,
        html,
        dir,
        html_path,
        _home: home,
    }
}

/// Every reference in `html`'s markup that a browser could load or follow: the values of
/// `src`, `href`, `srcset`, `action`, `data`, `poster` attributes, and `url(`/`@import` in
/// styles. (Text is escaped, so every `<` starts markup.)
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for seg in html.split('<').skip(1) {
        let tag = &seg[..seg.find('>').unwrap_or(seg.len())];
        let lower = tag.to_ascii_lowercase();
        for name in ["src", "href", "srcset", "action", "data", "poster"] {
            for (i, _) in lower.match_indices(&format!("{name}=")) {
                let before = lower[..i].chars().last();
                if !matches!(before, Some(c) if c.is_whitespace() || c == ':') {
                    continue;
                }
                let value: String = tag[i + name.len() + 1..]
                    .trim_start_matches(['"', '\''])
                    .chars()
                    .take_while(|c| !matches!(c, '"' | '\'' | ' '))
                    .collect();
                out.push(format!("{name}={value}"));
            }
        }
        // `url(#arrow)` (an SVG marker in the same document) is fine; anything else is not.
        for (i, _) in lower.match_indices("url(") {
            let target = lower[i + 4..].trim_start_matches(['"', '\'', ' ']);
            if !target.starts_with('#') {
                out.push(format!("url({target}"));
            }
        }
        if lower.starts_with("style") {
            let css = seg.to_ascii_lowercase();
            for bad in ["url(", "@import", "@font-face"] {
                if css.contains(bad) {
                    out.push(format!("{bad} in <style>"));
                }
            }
        }
    }
    out
}

#[test]
fn the_report_of_a_run_has_every_section_and_refers_to_nothing_outside() {
    let f = fixture();
    let html = &f.html;
    assert!(html.starts_with("<!doctype html>"));
    for (id, title) in SECTIONS {
        assert!(
            html.contains(&format!(r#"<section id="{id}">"#)),
            "no section {id}"
        );
        assert!(
            html.contains(&format!("<h2>{title}</h2>")),
            "no title {title}"
        );
    }
    assert!(!html.contains("<script"), "a script in the page");
    assert!(!html.contains("<link"), "a <link> in the page");
    for r in references(html) {
        assert!(
            r.starts_with("href=#"),
            "the page refers to {r:?}: only links within the page are allowed"
        );
    }
    // Absolute URLs appear only as text or as SVG namespaces, never as something to load.
    let without_ns = html
        .replace("xmlns=\"http://www.w3.org/2000/svg\"", "")
        .replace("xmlns:xlink=\"http://www.w3.org/1999/xlink\"", "");
    for scheme in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "src=\"file:",
        "href=\"file:",
    ] {
        assert!(!without_ns.contains(scheme), "{scheme} in the page");
    }

    // The run's content: its tasks, its code, its logs, its outputs and report files.
    let r = &f.report;
    assert_eq!(r.dag_id, "rocket_launches");
    assert_eq!(
        r.history.run.state,
        rocket_dag::store::RunStateRecord::Success
    );
    for task in [
        "fetch_launches",
        "fetch_images",
        "write_reports",
        "check_images",
        "archive_images",
    ] {
        assert!(
            html.contains(&format!("<code>{task}</code>")),
            "{task} not in the summary"
        );
        assert!(
            html.contains(&format!("pub async fn {task}")),
            "{task}'s code"
        );
    }
    assert!(html.contains("pub fn rocket_launches()"), "the DAG's code");
    assert!(
        html.contains("The complete Rocket pipeline"),
        "the statement"
    );
    assert!(html.contains("attempt 1 — success — "), "attempt headers");
    assert!(
        html.contains("starting attempt 1 of 4"),
        "fetch_launches's log"
    );
    assert!(
        html.contains("&#34;pages&#34;: 2"),
        "fetch_launches's output"
    );
    assert!(
        r.logs
            .iter()
            .all(|l| matches!(l.log, report::LogText::Text { cut: 0, .. }))
    );
    // The launch and download reports, when the DAG declares that it writes them.
    if r.files.iter().any(|a| a.asset_id == "reports") {
        assert!(html.contains("<h1>Upcoming launches</h1>"), "launches.md");
        assert!(html.contains("<h1>Image downloads</h1>"), "downloads.md");
        assert!(html.contains("launches.csv"), "the other files listed");
    } else {
        eprintln!("rocket_launches declares no report asset: no report files to show");
    }
    let print = r.print_html();
    assert!(
        !print.contains("<details>"),
        "a closed block in the print page"
    );
}

/// The browser, or `None` (skip) when there is none and none is required.
fn chromium() -> Option<PathBuf> {
    let found = chromium::find();
    if found.is_none() {
        if std::env::var("ROCKET_DAG_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
            panic!("ROCKET_DAG_REQUIRE_CHROMIUM=1 and no Chromium: install Debian's `chromium`");
        }
        eprintln!("skipped: no Chromium (install Debian's `chromium` to run this test)");
    }
    found
}

/// Hosts Chromium talks to by itself whatever the page (component updates, network time,
/// sign-in); some of it no switch turns off. A report never names them, so their requests
/// are left out of the count (and printed).
const BROWSER_SERVICES: &[&str] = &[
    "update.googleapis.com",
    "accounts.google.com",
    "clients1.google.com",
    "clients2.google.com",
    "redirector.gvt1.com",
    "optimizationguide-pa.googleapis.com",
    "content-autofill.googleapis.com",
    "safebrowsingohttpgateway.googleapis.com",
];

/// The host a proxy request is for: `CONNECT host:443 …` or `GET http://host/… …`.
fn request_host(line: &str) -> Option<String> {
    let target = line.split_whitespace().nth(1)?;
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    let authority = rest.split('/').next()?;
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    Some(host.to_ascii_lowercase())
}

/// A proxy that answers nothing and records the first request line of every connection.
fn recording_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut line = String::new();
                if let Ok(mut c) = conn {
                    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut buf = [0u8; 4096];
                    if let Ok(n) = c.read(&mut buf) {
                        line = String::from_utf8_lossy(&buf[..n])
                            .lines()
                            .next()
                            .unwrap_or("")
                            .to_owned();
                    }
                }
                s.lock().unwrap().push(line);
            });
        }
    });
    (port, seen)
}

/// The requests in `seen` that are not Chromium's own service traffic.
fn page_requests(seen: &Mutex<Vec<String>>) -> Vec<String> {
    let seen = seen.lock().unwrap();
    for line in seen.iter() {
        eprintln!("proxy: {:?}", line.chars().take(100).collect::<String>());
    }
    seen.iter()
        .filter(|l| !l.is_empty())
        .filter(|l| !request_host(l).is_some_and(|h| BROWSER_SERVICES.contains(&h.as_str())))
        .cloned()
        .collect()
}

fn browse(browser: &Path, port: u16, extra: &[String], url: &str) -> (String, Duration) {
    let profile = tempfile::tempdir().unwrap();
    let mut args = chromium::headless_args(profile.path());
    args.push(format!("--proxy-server=http://127.0.0.1:{port}"));
    args.push("--proxy-bypass-list=<-loopback>".to_owned());
    // Less of the browser's own traffic through the proxy (sign-in, time, hints).
    args.extend(
        [
            "--gaia-url=http://127.0.0.1:9/",
            "--google-apis-url=http://127.0.0.1:9/",
            "--lso-url=http://127.0.0.1:9/",
            "--allow-browser-signin=false",
        ]
        .map(str::to_owned),
    );
    args.extend(extra.iter().cloned());
    args.push(url.to_owned());
    let t = Instant::now();
    let (status, out, err) =
        chromium::run_with_timeout(browser, &args, Duration::from_secs(60)).unwrap();
    let took = t.elapsed();
    let status = status.unwrap_or_else(|| panic!("{} timed out", browser.display()));
    assert!(
        status.success(),
        "{} {args:?}: {status}\n{}",
        browser.display(),
        String::from_utf8_lossy(&err)
    );
    (String::from_utf8_lossy(&out).into_owned(), took)
}

#[test]
fn headless_chromium_shows_every_section_and_fetches_nothing() {
    let Some(browser) = chromium() else {
        return;
    };
    let f = fixture();
    let (port, seen) = recording_proxy();
    let url = chromium::file_url(&f.html_path);

    // The proxy does see what a page fetches: a page with a remote picture goes through it.
    let canary = f.dir.join("canary.html");
    std::fs::write(
        &canary,
        r#"<!doctype html><title>canary</title><img src="http://report-canary.invalid/x.png">"#,
    )
    .unwrap();
    let (_, took) = browse(
        &browser,
        port,
        &["--dump-dom".to_owned()],
        &chromium::file_url(&canary),
    );
    eprintln!("chromium --dump-dom (canary): {took:.2?}");
    let requests = page_requests(&seen);
    assert!(
        requests.iter().any(|r| r.contains("report-canary.invalid")),
        "the proxy did not see the canary page's picture: {requests:?}"
    );
    seen.lock().unwrap().clear();

    let (dom, took) = browse(&browser, port, &["--dump-dom".to_owned()], &url);
    eprintln!("chromium --dump-dom: {took:.2?}");
    for (id, _) in SECTIONS {
        assert!(
            dom.contains(&format!(r#"<section id="{id}">"#)),
            "no section {id} in the DOM"
        );
    }
    let r = &f.report;
    let pictures = [
        &r.graph_svg,
        &r.lanes_svg,
        &r.architecture_svg,
        &r.gantt_svg,
    ]
    .iter()
    .filter(|s| s.contains("<svg"))
    .count();
    let svgs = dom.matches("<svg").count();
    eprintln!("{svgs} <svg> elements in the DOM ({pictures} pictures made)");
    assert!(
        svgs >= pictures,
        "{svgs} <svg> in the DOM, {pictures} pictures"
    );
    assert!(dom.contains("fetch_launches"));

    let png = f.dir.join("report.png");
    let _ = std::fs::remove_file(&png);
    let (_, took) = browse(
        &browser,
        port,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,6000".to_owned(),
            "--hide-scrollbars".to_owned(),
        ],
        &url,
    );
    eprintln!(
        "chromium --screenshot: {took:.2?}; screenshot: {}",
        png.display()
    );
    let head = std::fs::read(&png).unwrap();
    assert!(head.starts_with(b"\x89PNG"), "no PNG at {}", png.display());

    let requests = page_requests(&seen);
    assert!(
        requests.is_empty(),
        "the browser fetched something for the report: {requests:?}"
    );
}

#[test]
fn print_pdf_makes_a_pdf_of_the_report() {
    let Some(_) = chromium() else {
        return;
    };
    let f = fixture();
    let print = f.dir.join("report-print.html");
    let pdf = f.dir.join("report.pdf");
    let _ = std::fs::remove_file(&pdf);
    let t = Instant::now();
    chromium::print_pdf(&print, &pdf).unwrap();
    eprintln!("print_pdf: {:.2?}; PDF: {}", t.elapsed(), pdf.display());
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    assert!(bytes.len() > 10_000, "{} bytes", bytes.len());
    // Nothing left behind but the PDF.
    let leftovers: Vec<_> = std::fs::read_dir(&f.dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// ---------------------------------------------------------------------------- the hand-in

/// `pdftotext` (Debian's `poppler-utils`), or `None` (skip) when it is missing and CI does not
/// require the browser tests.
fn pdftotext(pdf: &Path) -> Option<String> {
    match std::process::Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
    {
        Ok(out) => {
            assert!(out.status.success(), "pdftotext {}: {out:?}", pdf.display());
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) => {
            if std::env::var("ROCKET_DAG_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
                panic!("no pdftotext ({e}): install Debian's `poppler-utils`");
            }
            eprintln!("skipped: no pdftotext (install Debian's `poppler-utils`)");
            None
        }
    }
}

/// Two students' hand-ins from one home (variant 18 in Russian, variant 4 in English): the
/// PDF named after the author with every part in its text, Cyrillic intact; the HTML refers to
/// nothing outside and the browser fetches nothing for it; the draw.io files and archives.
#[test]
fn handin_writes_the_pdf_of_a_variant_with_every_part() {
    let Some(browser) = chromium() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("viz-handin");
    let _ = std::fs::remove_dir_all(&out);
    rt.block_on(async {
        let server = MockServer::start(MockConfig::default()).await.unwrap();
        let date = rocket_dag::cli::parse_date("2026-03-05").unwrap();
        for dag in [
            dags::listing_2_10::listing_2_10(),
            dags::rocket_launches::rocket_launches(),
        ] {
            let store = Store::open_home(home.path()).await.unwrap();
            let run = logged_runner(home.path())
                .with_store(store.clone())
                .run(
                    &dag,
                    RunRequest::new(date).param("launches_url", server.launches_url()),
                )
                .await;
            assert_eq!(run.state, RunState::Success, "{}", run.summary_table());
            store.close().await;
        }
    });
    let mut global = rocket_dag::cli::GlobalArgs {
        home: Some(home.path().to_owned()),
        ..Default::default()
    };
    global.guides = dags::course_guides();
    let cases = [
        (18, rocket_dag::cli::HandinLang::Ru, "Иванов Иван Иванович"),
        (4, rocket_dag::cli::HandinLang::En, "Петрова А.С."),
    ];
    for (variant, lang, author) in cases {
        let dir = out.join(format!("variant-{variant}"));
        let args = rocket_dag::cli::HandinArgs {
            author: author.to_owned(),
            variant: Some(variant),
            dags: Vec::new(),
            out: dir.clone(),
            lang,
        };
        let code = rt.block_on(rocket_dag::cli::execute(
            &dags::all(),
            rocket_dag::cli::Command::Handin(args),
            &global,
        ));
        assert_eq!(code, std::process::ExitCode::SUCCESS);
        let pdf = dir.join(format!("{author}-05.pdf"));
        let html_path = dir.join(format!("{author}-05.html"));
        assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
        for f in [
            "architecture.drawio",
            "dag-listing_2_10.drawio",
            "dag-rocket_launches.drawio",
        ] {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            assert!(text.contains("<mxfile") && text.contains("<mxCell"), "{f}");
        }
        for f in [
            "listing_2_10-export.tar.gz",
            "rocket_launches-export.tar.gz",
        ] {
            assert!(std::fs::metadata(dir.join(f)).unwrap().len() > 100, "{f}");
        }

        let html = std::fs::read_to_string(&html_path).unwrap();
        let outside: Vec<String> = references(&html)
            .into_iter()
            .filter(|r| !r.starts_with("href=#") && !r.starts_with("src=data:"))
            .map(|r| r.chars().take(200).collect())
            .collect();
        assert!(outside.is_empty(), "{outside:?}");
        let (port, seen) = recording_proxy();
        let (dom, _) = browse(
            &browser,
            port,
            &["--dump-dom".to_owned()],
            &chromium::file_url(&html_path),
        );
        assert!(dom.contains("id=\"variant\""));
        let requests = page_requests(&seen);
        assert!(requests.is_empty(), "the hand-in fetched {requests:?}");

        let Some(text) = pdftotext(&pdf) else {
            return;
        };
        // pdftotext breaks lines where the page does; compare words.
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let guide = &global.guides[if lang == rocket_dag::cli::HandinLang::Ru {
            0
        } else {
            1
        }];
        let entries = rocket_dag::viz::handin::guide_entries(&guide.markdown);
        let tasks = rocket_dag::viz::handin::variant_entries(&entries, variant);
        assert_eq!(tasks.len(), 3);
        let mut expected = vec![author.to_owned(), format!("{variant}")];
        for t in &tasks {
            expected.push(format!("{} {}", t.id, t.title));
        }
        let parts = match lang {
            rocket_dag::cli::HandinLang::Ru => [
                "Постановка задачи",
                "Задачи варианта",
                "Архитектура решения",
                "Результаты моих запусков",
            ],
            rocket_dag::cli::HandinLang::En => [
                "Task statement",
                "The variant's tasks",
                "The solution's architecture",
                "Outputs of my runs",
            ],
        };
        expected.extend(parts.map(str::to_owned));
        // Each DAG's report: code, graph, layers, Gantt chart, logs.
        expected.extend(
            [
                "DAG listing_2_10",
                "DAG rocket_launches",
                "pub async fn download_launches",
                "Gantt chart",
                "DAG in layers",
                "Logs",
                "There are now 5 images.",
            ]
            .map(str::to_owned),
        );
        for want in &expected {
            let want = want.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                words.contains(&want),
                "variant {variant}: {want:?} is not in the PDF's text ({})",
                pdf.display()
            );
        }
    }
}

// ------------------------------------------------------------------------------ the graph

/// The elements of `svg` as (name, attributes), panicking unless it is well-formed XML.
fn svg_elements(svg: &str) -> Vec<(String, std::collections::BTreeMap<String, String>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut out = Vec::new();
    let mut open = 0usize;
    loop {
        let event = reader.read_event().expect("well-formed SVG");
        let e = match event {
            Event::Eof => break,
            Event::End(_) => {
                open -= 1;
                continue;
            }
            Event::Start(e) => {
                open += 1;
                e
            }
            Event::Empty(e) => e,
            _ => continue,
        };
        let attrs = e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                let v = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .expect("attribute value unescapes");
                (a.key.0.to_owned(), v.into_owned())
            })
            .collect();
        out.push((e.name().0.to_owned(), attrs));
    }
    assert_eq!(open, 0, "unclosed elements");
    out
}

fn with_class<'a>(
    elems: &'a [(String, std::collections::BTreeMap<String, String>)],
    class: &str,
) -> Vec<&'a std::collections::BTreeMap<String, String>> {
    elems
        .iter()
        .filter(|(_, a)| a.get("class").is_some_and(|c| c == class))
        .map(|(_, a)| a)
        .collect()
}

#[test]
fn every_rocket_dag_draws_one_box_per_task_and_one_arrow_per_edge() {
    for dag in dags::all() {
        let svg = rocket_dag::viz::graph::dag_svg(&dag, None);
        let elems = svg_elements(&svg);
        assert_eq!(elems[0].0, "svg");
        let nodes = with_class(&elems, "node task");
        let ids: Vec<&str> = nodes.iter().map(|a| a["data-id"].as_str()).collect();
        let mut expected: Vec<&str> = dag.tasks().iter().map(|t| t.id()).collect();
        let mut got = ids.clone();
        expected.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, expected, "{}", dag.id());
        let edges = with_class(&elems, "edge");
        assert_eq!(edges.len(), dag.edges().len(), "{}", dag.id());
        for e in dag.edges() {
            let (from, to) = (dag.tasks()[e.from].id(), dag.tasks()[e.to].id());
            let drawn = edges
                .iter()
                .find(|a| a["data-from"] == from && a["data-to"] == to)
                .unwrap_or_else(|| panic!("{}: no arrow {from} -> {to}", dag.id()));
            // Ordering-only edges are dashed, data edges are not.
            let dashed = drawn.get("stroke-dasharray").is_some_and(|d| !d.is_empty());
            assert_eq!(dashed, e.kind == rocket_dag::EdgeKind::Order);
        }
        // Without a run, tasks wear their layer's colour, and the legend names the layers.
        for t in dag.tasks() {
            let layer = rocket_dag::viz::lanes::task_layer(t);
            let fill = rocket_dag::viz::layer_color(layer);
            assert!(svg.contains(&format!(r#"fill="{fill}""#)), "{}", t.id());
            assert!(
                svg.contains(rocket_dag::viz::layer_title(layer)),
                "{}",
                t.id()
            );
        }
    }
}

#[test]
fn a_run_colours_tasks_by_state_and_counts_mapped_instances() {
    use rocket_dag::store::TaskStateRecord as S;
    use rocket_dag::store::{DagRunRecord, RunStateRecord, RunType, TaskInstanceRecord};
    let dag = dags::listing_2_10_mapped::listing_2_10_mapped();
    let t0 = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let try_ = |task: &str, map_index: i32, try_number: u32, state: S| TaskInstanceRecord {
        dag_id: dag.id().to_owned(),
        run_id: "r".to_owned(),
        task_id: task.to_owned(),
        map_index,
        try_number,
        state,
        start: t0,
        end: Some(t0 + chrono::Duration::milliseconds(10)),
        duration: Some(Duration::from_millis(10)),
        hostname: "h".to_owned(),
        pid: None,
        log_path: None,
        error: None,
    };
    let history = rocket_dag::viz::RunHistory {
        run: DagRunRecord {
            dag_id: dag.id().to_owned(),
            run_id: "r".to_owned(),
            run_type: RunType::Manual,
            logical_date: t0,
            data_interval_start: t0,
            data_interval_end: t0,
            state: RunStateRecord::Failed,
            start: t0,
            end: Some(t0),
            conf: serde_json::json!({}),
        },
        tries: vec![
            try_("download_launches", -1, 1, S::Success),
            try_("image_urls", -1, 1, S::Success),
            try_("get_picture", 0, 1, S::Success),
            try_("get_picture", 1, 1, S::Failed),
            try_("get_picture", 1, 2, S::Failed),
            try_("get_picture", 2, 1, S::Success),
            // notify_mapped never ran: no try.
        ],
    };
    let svg = rocket_dag::viz::graph::dag_svg(&dag, Some(&history));
    let elems = svg_elements(&svg);
    let nodes = with_class(&elems, "node task");
    let state = |id: &str| {
        nodes
            .iter()
            .find(|a| a["data-id"] == id)
            .map(|a| a["data-state"].clone())
            .unwrap()
    };
    assert_eq!(state("download_launches"), "success");
    assert_eq!(state("get_picture"), "failed");
    assert_eq!(state("notify_mapped"), "");
    assert!(
        svg.contains("3 instances: 1 failed, 2 success"),
        "the mapped task shows its instance count per state: {svg}"
    );
    assert!(svg.contains(rocket_dag::viz::state_color(S::Failed)));
    assert!(
        svg.contains("listing_2_10_mapped — r (failed)"),
        "title names the run"
    );
}

// ------------------------------------------------------------------------------ draw.io

#[test]
fn every_rocket_dag_opens_in_draw_io_with_its_tasks_in_their_lanes() {
    for dag in dags::all() {
        let xml = rocket_dag::viz::lanes::LaneDiagram::from_dag(&dag).to_drawio();
        let elems = svg_elements(&xml);
        assert_eq!(elems[0].0, "mxfile", "{}", dag.id());
        // Cells, whether plain or wrapped in a UserObject (which carries the id and label).
        let mut cells: Vec<std::collections::BTreeMap<String, String>> = Vec::new();
        let mut wrapper: Option<std::collections::BTreeMap<String, String>> = None;
        for (name, attrs) in &elems {
            match name.as_str() {
                "UserObject" => wrapper = Some(attrs.clone()),
                "mxCell" => {
                    let mut cell = attrs.clone();
                    if let Some(w) = wrapper.take() {
                        cell.extend(w);
                    }
                    cells.push(cell);
                }
                _ => {}
            }
        }
        let ids: std::collections::HashSet<&str> = cells
            .iter()
            .filter_map(|c| c.get("id").map(String::as_str))
            .collect();
        assert_eq!(ids.len(), cells.len(), "{}: ids are unique", dag.id());
        let label = |c: &std::collections::BTreeMap<String, String>| {
            c.get("value")
                .or(c.get("label"))
                .cloned()
                .unwrap_or_default()
        };
        let lanes: Vec<_> = cells
            .iter()
            .filter(|c| c.get("style").is_some_and(|s| s.starts_with("swimlane")))
            .collect();
        let lane_titles: Vec<String> = lanes.iter().map(|c| label(c)).collect();
        assert_eq!(
            lane_titles,
            ["Source", "Storage", "Business"],
            "{}",
            dag.id()
        );
        for t in dag.tasks() {
            let id = format!("task-{}", t.id());
            let cell = cells
                .iter()
                .find(|c| c.get("vertex").is_some() && c.get("id") == Some(&id))
                .unwrap_or_else(|| panic!("{}: no cell for {}", dag.id(), t.id()));
            assert!(label(cell).starts_with(t.id()), "{} is labelled", t.id());
            let lane = lanes
                .iter()
                .find(|l| l.get("id") == cell.get("parent"))
                .unwrap_or_else(|| panic!("{} is not in a lane", t.id()));
            let layer = rocket_dag::viz::lanes::task_layer(t);
            assert_eq!(
                label(lane),
                rocket_dag::viz::layer_title(layer),
                "{}",
                t.id()
            );
        }
        let edges: Vec<_> = cells.iter().filter(|c| c.get("edge").is_some()).collect();
        assert_eq!(edges.len(), dag.edges().len(), "{}", dag.id());
        for e in dag.edges() {
            let id_of = |i: usize| format!("task-{}", dag.tasks()[i].id());
            let (from, to) = (id_of(e.from), id_of(e.to));
            assert!(
                edges
                    .iter()
                    .any(|c| c.get("source") == Some(&from) && c.get("target") == Some(&to)),
                "{}: edge {} -> {}",
                dag.id(),
                e.from,
                e.to
            );
        }
    }
}
