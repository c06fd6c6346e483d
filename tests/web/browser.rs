//! One run watched in headless Chromium through chromedriver (WebDriver, over `fantoccini`):
//! trigger `listing_2_10` from the DAGs page, see the Grid show it running and the Graph (opened
//! while it runs) turn to success without a reload, then the Gantt chart and a task's log, and
//! fetch every download. Screenshots go to
//! `<target>/web-screenshots/`.
//!
//! Needs `chromium` and `chromium-driver` (Debian); without chromedriver the test fails, unless
//! `ROCKET_DAG_SKIP_BROWSER=1`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use super::external_urls;
use dags::mock::MockConfig;

use crate::{Options, Web, client};

/// chromedriver, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `$CHROMEDRIVER`, else `chromedriver` on the PATH.
fn chromedriver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMEDRIVER") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromedriver"))
            .find(|p| p.is_file())
    })
}

/// Starts chromedriver on a free loopback port; its URL.
async fn start_driver(path: &Path) -> (Driver, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (driver, format!("http://127.0.0.1:{port}"))
}

async fn browser(driver: &str) -> Client {
    let args = vec![
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        // Nothing may leave 127.0.0.1: no proxy, no background services.
        "--no-proxy-server",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ];
    let mut options = json!({ "args": args });
    if let Some(binary) = rocket_dag::viz::chromium::find() {
        options["binary"] = Value::String(binary.display().to_string());
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a WebDriver session in headless Chromium")
}

fn shots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots_dir().join(name), png).unwrap();
}

/// The states of the grid's cells of run `run`, as the DOM has them now.
async fn cell_states(c: &Client, run: &str) -> Vec<String> {
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll('#grid a.cell'))\
               .filter(a => a.dataset.run === arguments[0]).map(a => a.dataset.state);",
            vec![json!(run)],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// The text of the first element matching `css` ("" when there is none), read in one script.
async fn text_of(c: &Client, css: &str) -> Result<String, String> {
    let v = c
        .execute(
            "const n = document.querySelector(arguments[0]); return n ? n.textContent : '';",
            vec![json!(css)],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

async fn source_is_local(c: &Client, what: &str) {
    let html = c.source().await.unwrap();
    assert_eq!(external_urls(&html), Vec::<String>::new(), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_trigger_watch_and_download() {
    let _heavy = crate::HEAVY.lock().await;
    let Some(path) = chromedriver() else {
        if std::env::var("ROCKET_DAG_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!(
                "note: ROCKET_DAG_SKIP_BROWSER=1 and no chromedriver: the browser test is skipped"
            );
            return;
        }
        panic!(
            "chromedriver is not on the PATH (nor in $CHROMEDRIVER): install Debian's `chromium` \
             and `chromium-driver` (apt-get install -y chromium chromium-driver), or set \
             ROCKET_DAG_SKIP_BROWSER=1 to skip this test"
        );
    };
    let started = Instant::now();
    // Every answer of the fake LL2 server takes 2 s, so the run is seen running.
    let web = Web::start(Options {
        mock: MockConfig::default().with_latency(Duration::from_secs(2)),
        ..Options::default()
    })
    .await;
    let (_driver, url) = start_driver(&path).await;
    let c = browser(&url).await;
    let result = watch(&c, &web).await;
    let _ = c.close().await;
    web.stop().await;
    result.unwrap();
    eprintln!("browser test took {:.1?}", started.elapsed());
}

async fn watch(c: &Client, web: &Web) -> Result<(), String> {
    let e = |e: fantoccini::error::CmdError| e.to_string();
    c.goto(&web.url("/")).await.map_err(e)?;
    source_is_local(c, "DAGs page").await;
    shot(c, "dags.png").await;
    let summary = "#dag-listing_2_10 details.trigger summary";
    c.find(Locator::Css(summary))
        .await
        .map_err(e)?
        .click()
        .await
        .map_err(e)?;
    let button = "#trigger-listing_2_10 button[type=submit]";
    c.find(Locator::Css(button))
        .await
        .map_err(e)?
        .click()
        .await
        .map_err(e)?;
    // The trigger redirects to the Grid with the new run selected (a loaded CI machine may
    // take a while to build the pages).
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        let u = c.current_url().await.map_err(e)?;
        if let Some((_, q)) = u.as_str().split_once("run_id=") {
            break percent_decode(q);
        }
        if Instant::now() > deadline {
            return Err(format!("the trigger did not lead to the Grid: {u}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    mark_page(c).await?;
    // The Grid follows the run: a cell turns `running` with no reload.
    let seen = wait_cells(c, &run, |s| s.iter().any(|s| s == "running")).await?;
    eprintln!("grid states seen before `running`: {seen:?}");
    still_marked(c, "Grid").await?;
    // The Graph, opened while the run runs, follows it to success.
    let graph = "nav.tabs a[href^='/dags/listing_2_10/graph']";
    c.find(Locator::Css(graph))
        .await
        .map_err(e)?
        .click()
        .await
        .map_err(e)?;
    c.wait()
        .for_element(Locator::Css("#figure svg"))
        .await
        .map_err(e)?;
    mark_page(c).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        // Read in one script: the live figure may be replaced between a find and a read.
        let text = text_of(c, "#figure p.muted").await?;
        if text.contains("— success") {
            break;
        }
        if Instant::now() > deadline || text.contains("— failed") {
            return Err(format!("the Graph did not turn to success: {text}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    still_marked(c, "Graph").await?;
    source_is_local(c, "Graph").await;
    shot(c, "graph.png").await;
    let grid = "nav.tabs a[href^='/dags/listing_2_10/grid']";
    c.find(Locator::Css(grid))
        .await
        .map_err(e)?
        .click()
        .await
        .map_err(e)?;
    wait_cells(c, &run, |s| {
        s.len() == 3 && s.iter().all(|s| s == "success")
    })
    .await?;
    shot(c, "grid.png").await;
    gantt_and_log(c, web, &run).await
}

/// Marks the page, so that a reload would show (it loses the mark).
async fn mark_page(c: &Client) -> Result<(), String> {
    c.execute("window.__noReload = 'kept'; return true;", vec![])
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

async fn still_marked(c: &Client, what: &str) -> Result<(), String> {
    let mark = c
        .execute("return window.__noReload || null;", vec![])
        .await
        .map_err(|e| e.to_string())?;
    if mark == json!("kept") {
        Ok(())
    } else {
        Err(format!("the {what} was reloaded"))
    }
}

/// Polls the Grid's cells of `run` until `done` says so (2 minutes at most); the states seen.
async fn wait_cells(
    c: &Client,
    run: &str,
    done: impl Fn(&[String]) -> bool,
) -> Result<std::collections::BTreeSet<String>, String> {
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let states = cell_states(c, run).await;
        seen.extend(states.iter().cloned());
        if done(&states) {
            return Ok(seen);
        }
        if states
            .iter()
            .any(|s| s == "failed" || s == "upstream_failed")
        {
            return Err(format!("the run failed: {states:?}"));
        }
        if Instant::now() > deadline {
            return Err(format!("the Grid did not get there: {states:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn gantt_and_log(c: &Client, web: &Web, run: &str) -> Result<(), String> {
    let e = |e: fantoccini::error::CmdError| e.to_string();
    let gantt = "nav.tabs a[href^='/dags/listing_2_10/gantt']";
    c.find(Locator::Css(gantt))
        .await
        .map_err(e)?
        .click()
        .await
        .map_err(e)?;
    c.wait()
        .for_element(Locator::Css("#figure svg"))
        .await
        .map_err(e)?;
    shot(c, "gantt.png").await;
    // A task's log, from its cell in the Grid.
    c.goto(&web.url("/dags/listing_2_10/grid"))
        .await
        .map_err(e)?;
    let cell = format!("#grid a.cell[data-task='download_launches'][data-run='{run}']");
    c.wait().for_element(Locator::Css(&cell)).await.map_err(e)?;
    // Clicked by script: the live Grid may replace the cell between a find and a click.
    c.execute(
        "document.querySelector(arguments[0]).click(); return true;",
        vec![json!(cell)],
    )
    .await
    .map_err(e)?;
    c.wait()
        .for_element(Locator::Css("pre.log"))
        .await
        .map_err(e)?;
    if text_of(c, "pre.log").await?.trim().is_empty() {
        return Err("the log is empty".into());
    }
    source_is_local(c, "task instance").await;
    c.execute(
        "document.querySelector('pre.log').scrollIntoView(); return true;",
        vec![],
    )
    .await
    .map_err(e)?;
    shot(c, "log.png").await;
    downloads(c, web, run).await
}

/// Every download link of the run page and the DAG's tabs answers 200 with its type.
async fn downloads(c: &Client, web: &Web, run: &str) -> Result<(), String> {
    let e = |e: fantoccini::error::CmdError| e.to_string();
    let run_page = format!(
        "/dags/listing_2_10/runs/{}",
        run.replace(':', "%3A").replace('+', "%2B")
    );
    c.goto(&web.url(&run_page)).await.map_err(e)?;
    let mut hrefs = Vec::new();
    for a in c.find_all(Locator::Css("a.download")).await.map_err(e)? {
        hrefs.extend(a.attr("href").await.map_err(e)?);
    }
    c.goto(&web.url("/dags/listing_2_10/grid"))
        .await
        .map_err(e)?;
    for a in c.find_all(Locator::Css("a.download")).await.map_err(e)? {
        hrefs.extend(a.attr("href").await.map_err(e)?);
    }
    assert!(hrefs.len() >= 7, "{hrefs:?}");
    let http = client();
    for href in hrefs {
        let r = http
            .get(web.url(&href))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let ty = r
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let want = match href.rsplit('.').next().unwrap_or("") {
            "drawio" => "application/vnd.jgraph.mxfile",
            "svg" => "image/svg+xml",
            "html" => "text/html; charset=utf-8",
            "pdf" => "application/pdf",
            "gz" => "application/gzip",
            _ => "text/plain; charset=utf-8",
        };
        let body = r.bytes().await.map_err(|e| e.to_string())?;
        if status != StatusCode::OK || ty.as_deref() != Some(want) || body.is_empty() {
            return Err(format!(
                "{href}: {status}, {ty:?} ({} bytes), want {want}",
                body.len()
            ));
        }
    }
    Ok(())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
