//! The HTML pages: plain HTTP checks (CSRF, login, escaping, hostile paths, the log tail) and
//! one run watched in headless Chromium over WebDriver (`browser_*`, see [`browser`]).

#[path = "browser.rs"]
mod browser;

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use rocket_dag::store::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, TaskInstanceRecord, TaskStateRecord,
};
use rocket_dag::web::Auth;
use rocket_dag::web::auth::{Users, add_user};

use crate::{Options, Web, client};

const FORM: &str = "application/x-www-form-urlencoded";

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    rocket_dag::http::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `pairs` as an `application/x-www-form-urlencoded` body.
pub(crate) fn form_body(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let parts: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    parts.join("&")
}

/// The value of the first `name="csrf"` input of `html`.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Every `src`/`href`/`action` value of `html` that is not on this server.
pub(crate) fn external_urls(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\"", "action=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let value = &rest[..rest.find('"').unwrap_or(rest.len())];
            let local = value.starts_with('/') && !value.starts_with("//")
                || value.starts_with('#')
                || value.starts_with("data:");
            if !local {
                out.push(value.to_owned());
            }
        }
    }
    out
}

fn quiet() -> Options {
    Options {
        scheduler: false,
        ..Options::default()
    }
}

#[tokio::test]
async fn every_page_renders_with_the_csp_and_nothing_external() {
    let web = Web::start(quiet()).await;
    let c = client();
    for path in [
        "/",
        "/home",
        "/dags/listing_2_10/grid",
        "/dags/listing_2_10/graph",
        "/dags/listing_2_10/gantt",
        "/dags/listing_2_10/code",
        "/dags/listing_2_10/details",
        "/dags/listing_2_10_mapped/grid",
    ] {
        let r = c.get(web.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let csp = r.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        let html = r.text().await.unwrap();
        assert!(html.contains("/static/style.css"), "{path}");
        assert!(!html.contains("<script>"), "{path}: no inline script");
        assert_eq!(external_urls(&html), Vec::<String>::new(), "{path}");
    }
    // The fragments live.js swaps in: the same markup, marked active or not.
    for path in [
        "/dags/listing_2_10/grid/live?runs=25",
        "/dags/listing_2_10/graph/live",
        "/dags/listing_2_10/gantt/live",
    ] {
        let r = c.get(web.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let html = r.text().await.unwrap();
        assert!(
            html.starts_with("<div") && html.contains("data-active=\"false\""),
            "{path}: {html}"
        );
    }
    let css = c.get(web.url("/static/style.css")).send().await.unwrap();
    assert_eq!(css.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains(".s-success"));
    let js = c.get(web.url("/static/live.js")).send().await.unwrap();
    assert!(
        js.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    web.stop().await;
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let web = Web::start(quiet()).await;
    let c = no_redirects();
    let html = c
        .get(web.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_of(&html);
    for form in [
        vec![("conf", "{}")],
        vec![("csrf", "wrong"), ("conf", "{}")],
    ] {
        let r = c
            .post(web.url("/dags/listing_2_10/trigger"))
            .header(CONTENT_TYPE, FORM)
            .body(form_body(&form))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let r = c
        .post(web.url("/dags/listing_2_10/pause"))
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[("paused", "true")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!web.store.is_paused("listing_2_10").await.unwrap());
    // With the token: paused, then a run is queued and the Grid shows it.
    let r = c
        .post(web.url("/dags/listing_2_10/pause"))
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[("paused", "true"), ("csrf", &token)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(web.store.is_paused("listing_2_10").await.unwrap());
    let r = c
        .post(web.url("/dags/listing_2_10/trigger"))
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[
            ("csrf", token.as_str()),
            ("conf", r#"{"note": "web"}"#),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/dags/listing_2_10/grid?run_id=manual__")
    );
    let runs = web
        .store
        .list_runs(Some("listing_2_10"), None, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].conf["note"], "web");
    let r = c
        .post(web.url("/dags/listing_2_10/trigger"))
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[("csrf", token.as_str()), ("conf", "[1]")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    web.stop().await;
}

/// Logs `ada` in through the form (a wrong password first): the session cookie to send.
async fn log_in(c: &reqwest::Client, web: &Web) -> String {
    let form = |pw: &'static str| {
        [
            ("username", "ada"),
            ("password", pw),
            ("next", "//evil.example/"),
        ]
    };
    let wrong = c
        .post(web.url("/login"))
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&form("nope")))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    let ok = c
        .post(web.url("/login"))
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&form("s3cret")))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        ok.headers()[LOCATION],
        "/",
        "an off-site `next` is not followed"
    );
    let set = ok.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set}");
    }
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn login_is_required_once_users_exist_and_logout_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users");
    add_user(&file, "ada", "s3cret").unwrap();
    let auth = Auth::new(Some(Users::load(&file).unwrap()), None).unwrap();
    let web = Web::start(Options { auth, ..quiet() }).await;
    let c = no_redirects();
    let r = c
        .get(web.url("/dags/listing_2_10/grid"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(to, "/login?next=/dags/listing_2_10/grid");
    let page = c.get(web.url(&to)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("name=\"password\""));
    let session = log_in(&c, &web).await;
    let page = c
        .get(web.url("/"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("ada") && html.contains("Log out"));
    let token = csrf_of(&html);
    let bad = c
        .post(web.url("/logout"))
        .header(CONTENT_TYPE, FORM)
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad.status(),
        StatusCode::FORBIDDEN,
        "logout needs the CSRF token too"
    );
    let out = c
        .post(web.url("/logout"))
        .header(CONTENT_TYPE, FORM)
        .header(COOKIE, &session)
        .body(form_body(&[("csrf", token.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let r = c
        .get(web.url("/"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the session is gone");
    web.stop().await;
}

/// A finished run of `listing_2_10` with one try of `download_launches` whose error, log and
/// output (a launch's name) and the run's conf hold `hostile`.
async fn hostile_run(web: &Web, hostile: &str) -> String {
    let now = Utc::now();
    let run_id = "manual__2026-01-01T00:00:00+00:00".to_owned();
    let mut conf = serde_json::Map::new();
    conf.insert("launch".into(), hostile.into());
    web.store
        .upsert_run(&DagRunRecord {
            dag_id: "listing_2_10".into(),
            run_id: run_id.clone(),
            run_type: RunType::Manual,
            logical_date: now,
            data_interval_start: now,
            data_interval_end: now,
            state: RunStateRecord::Failed,
            start: now,
            end: Some(now),
            conf: conf.into(),
        })
        .await
        .unwrap();
    let log = rocket_dag::home::attempt_log(
        web.home(),
        "listing_2_10",
        &run_id,
        "download_launches",
        None,
        1,
    )
    .unwrap();
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(&log, format!("fetching\nlaunch name: {hostile}\n")).unwrap();
    // The output is what `download_launches` returns: launches, one with a hostile name.
    let output = serde_json::json!([{ "name": hostile, "id": "x" }]).to_string();
    let ti = TaskInstanceRecord {
        dag_id: "listing_2_10".into(),
        run_id: run_id.clone(),
        task_id: "download_launches".into(),
        map_index: NOT_MAPPED,
        try_number: 1,
        state: TaskStateRecord::Failed,
        start: now,
        end: Some(now),
        duration: Some(Duration::from_millis(1200)),
        hostname: "host".into(),
        pid: None,
        log_path: Some(log.display().to_string()),
        error: Some(format!("bad launch {hostile}")),
    };
    web.store
        .record_tries(&[(ti, Some(output.as_str()))])
        .await
        .unwrap();
    run_id
}

#[tokio::test]
async fn hostile_names_and_log_lines_are_escaped() {
    let web = Web::start(quiet()).await;
    let hostile = "<script>alert('x')</script>";
    let run = hostile_run(&web, hostile).await;
    let c = client();
    let enc = |s: &str| s.replace(':', "%3A").replace('+', "%2B");
    for path in [
        format!("/dags/listing_2_10/runs/{}", enc(&run)),
        format!(
            "/dags/listing_2_10/runs/{}/tasks/download_launches",
            enc(&run)
        ),
    ] {
        let r = c.get(web.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let html = r.text().await.unwrap();
        assert!(
            !html.contains("<script>"),
            "{path}: raw script tag in\n{html}"
        );
        // askama escapes `<` as `&#60;`.
        assert!(
            html.contains("&#60;script&#62;"),
            "{path}: the text is shown escaped"
        );
        if path.ends_with("download_launches") {
            // The error, the log line and the launch's name in the output.
            assert!(html.matches("&#60;script&#62;").count() >= 3, "{html}");
            assert!(html.contains("Output (XCom)") && html.contains("&#34;name&#34;"));
        }
    }
    // The log download is the file as is, as text (never HTML).
    let log = format!(
        "/dags/listing_2_10/runs/{}/tasks/download_launches/logs/1",
        enc(&run)
    );
    let r = c.get(web.url(&log)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(r.text().await.unwrap().contains(hostile));
    web.stop().await;
}

#[tokio::test]
async fn hostile_paths_never_reach_a_file() {
    let web = Web::start(quiet()).await;
    let run = hostile_run(&web, "x").await;
    let c = client();
    let r = format!("runs/{}", run.replace('+', "%2B"));
    for (path, status) in [
        // The URL parser takes `%2E%2E` for `..` and resolves it: `/grid`, which is nothing.
        ("/dags/%2E%2E/grid".to_owned(), StatusCode::NOT_FOUND),
        ("/dags/.%2E%2Fx/grid".to_owned(), StatusCode::BAD_REQUEST),
        ("/dags/..%2Fetc/grid".to_owned(), StatusCode::BAD_REQUEST),
        ("/dags/../etc/passwd".to_owned(), StatusCode::NOT_FOUND),
        ("/dags/nope/grid".to_owned(), StatusCode::NOT_FOUND),
        (
            "/dags/listing_2_10/runs/..%2F..%2F..%2Fetc/tasks/download_launches/logs/1".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/dags/listing_2_10/{r}/tasks/..%2F..%2Fx/logs/1"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/dags/listing_2_10/{r}/tasks/no_such_task/logs/1"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/dags/listing_2_10/{r}/tasks/download_launches/logs/7"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/dags/listing_2_10/{r}/download/..%2Fx"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let got = c.get(web.url(&path)).send().await.unwrap().status();
        assert_eq!(got, status, "{path}");
    }
    web.stop().await;
}

#[tokio::test]
async fn run_and_instance_actions_go_through_control() {
    let web = Web::start(quiet()).await;
    let run = hostile_run(&web, "x").await;
    let c = no_redirects();
    let token = csrf_of(
        &c.get(web.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let base = format!(
        "/dags/listing_2_10/runs/{}",
        run.replace(':', "%3A").replace('+', "%2B")
    );
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        c.post(web.url(&path))
            .header(CONTENT_TYPE, FORM)
            .body(form_body(&pairs))
            .send()
    };
    let latest =
        |tis: Vec<TaskInstanceRecord>| tis.into_iter().max_by_key(|t| t.try_number).unwrap();
    // Without the token nothing changes.
    let r = post(format!("{base}/clear_failed"), vec![]).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(
        format!("{base}/clear_failed"),
        vec![("csrf", token.clone())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let got = web
        .store
        .get_run("listing_2_10", &run)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.state,
        RunStateRecord::Queued,
        "a clear puts the run back to queued"
    );
    let ti = latest(
        web.store
            .task_instances("listing_2_10", &run)
            .await
            .unwrap(),
    );
    assert_eq!(ti.state, TaskStateRecord::NoStatus);
    let task = format!("{base}/tasks/download_launches");
    let form = vec![("csrf", token.clone()), ("state", "success".to_owned())];
    let r = post(format!("{task}/mark"), form).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let ti = latest(
        web.store
            .task_instances("listing_2_10", &run)
            .await
            .unwrap(),
    );
    assert_eq!(ti.state, TaskStateRecord::Success);
    let form = vec![("csrf", token.clone()), ("state", "failed".to_owned())];
    let r = post(format!("{base}/mark"), form).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let got = web
        .store
        .get_run("listing_2_10", &run)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.state, RunStateRecord::Failed);
    let form = vec![("csrf", token.clone()), ("state", "bogus".to_owned())];
    let r = post(format!("{base}/mark"), form).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    web.stop().await;
}

/// A running run of `listing_2_10_mapped` whose `get_picture` has 4 elements: 2 succeeded,
/// 1 failed, 1 running.
async fn mapped_run(web: &Web) -> &'static str {
    let now = Utc::now();
    let run_id = "manual__2026-02-02T00:00:00+00:00";
    let run = DagRunRecord {
        dag_id: "listing_2_10_mapped".into(),
        run_id: run_id.into(),
        run_type: RunType::Manual,
        logical_date: now,
        data_interval_start: now,
        data_interval_end: now,
        state: RunStateRecord::Running,
        start: now,
        end: None,
        conf: serde_json::json!({}),
    };
    web.store.upsert_run(&run).await.unwrap();
    for (i, state) in [
        TaskStateRecord::Success,
        TaskStateRecord::Success,
        TaskStateRecord::Failed,
        TaskStateRecord::Running,
    ]
    .into_iter()
    .enumerate()
    {
        web.store
            .upsert_task_instance(&TaskInstanceRecord {
                dag_id: run.dag_id.clone(),
                run_id: run_id.into(),
                task_id: "get_picture".into(),
                map_index: i as i32,
                try_number: 1,
                state,
                start: now,
                end: None,
                duration: None,
                hostname: "host".into(),
                pid: None,
                log_path: None,
                error: None,
            })
            .await
            .unwrap();
    }
    run_id
}

#[tokio::test]
async fn a_mapped_task_shows_its_elements_and_counts_per_state() {
    let web = Web::start(quiet()).await;
    let run_id = mapped_run(&web).await;
    let c = client();
    let grid = c
        .get(web.url("/dags/listing_2_10_mapped/grid"))
        .send()
        .await
        .unwrap();
    let html = grid.text().await.unwrap();
    assert!(
        html.contains("data-active=\"true\""),
        "a running run is followed live"
    );
    assert!(html.contains("1 failed, 1 running, 2 success"), "{html}");
    let base = format!(
        "/dags/listing_2_10_mapped/runs/{}/tasks/get_picture",
        run_id.replace(':', "%3A").replace('+', "%2B")
    );
    let whole = c
        .get(web.url(&base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        whole.contains("4 elements: 1 failed, 1 running, 2 success"),
        "{whole}"
    );
    assert!(whole.contains("get_picture?map_index=3"));
    let one = c
        .get(web.url(&format!("{base}?map_index=2")))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), StatusCode::OK);
    let one = one.text().await.unwrap();
    assert!(one.contains("get_picture[2]") && one.contains("<h2>Tries</h2>"));
    // Without users, there is no login page to show.
    let r = no_redirects().get(web.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    web.stop().await;
}

/// Reads server-sent events from `r` until an `end` event: the data, joined.
async fn read_events(r: reqwest::Response) -> (String, bool) {
    use futures::StreamExt;
    let mut body = r.bytes_stream();
    let (mut raw, mut data) = (String::new(), String::new());
    while let Some(chunk) = body.next().await {
        raw.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = raw.find("\n\n") {
            let event: String = raw.drain(..end + 2).collect();
            let mut lines = Vec::new();
            for line in event.lines() {
                if line == "event: end" {
                    return (data, true);
                }
                if let Some(d) = line.strip_prefix("data:") {
                    lines.push(d.strip_prefix(' ').unwrap_or(d));
                }
            }
            if !lines.is_empty() {
                data.push_str(&lines.join("\n"));
            }
        }
    }
    (data, false)
}

#[tokio::test]
async fn the_log_tail_follows_a_running_attempt_until_it_ends() {
    let web = Web::start(quiet()).await;
    let run = hostile_run(&web, "x").await;
    let store = web.store.clone();
    let mut tis = store.task_instances("listing_2_10", &run).await.unwrap();
    let mut ti = tis.remove(0);
    ti.state = TaskStateRecord::Running;
    store.upsert_task_instance(&ti).await.unwrap();
    let log = rocket_dag::home::attempt_log(web.home(), "listing_2_10", &run, &ti.task_id, None, 1)
        .unwrap();
    let url = web.url(&format!(
        "/dags/listing_2_10/runs/{}/tasks/download_launches/logs/1/tail?offset=9",
        run.replace('+', "%2B")
    ));
    let r = client().get(url).send().await.unwrap();
    assert_eq!(r.headers()[CONTENT_TYPE], "text/event-stream");
    let reader = tokio::spawn(read_events(r));
    tokio::time::sleep(Duration::from_millis(700)).await;
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        writeln!(f, "appended while running: é").unwrap();
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    ti.state = TaskStateRecord::Success;
    store.upsert_task_instance(&ti).await.unwrap();
    let (data, ended) = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("the tail ends once the attempt has")
        .unwrap();
    assert!(ended);
    assert_eq!(data, "launch name: x\nappended while running: é\n");
    web.stop().await;
}

/// `VmRSS` of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// `cargo test --release --test web pages::the_log_tail_of_100_mb -- --ignored --nocapture`
#[tokio::test]
#[ignore = "writes a 100 MB log; run by hand for the memory figure"]
async fn the_log_tail_of_100_mb_streams_in_flat_memory() {
    let web = Web::start(quiet()).await;
    let run = hostile_run(&web, "x").await;
    let log = rocket_dag::home::attempt_log(
        web.home(),
        "listing_2_10",
        &run,
        "download_launches",
        None,
        1,
    )
    .unwrap();
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
        let line = format!("{}\n", "0123456789".repeat(10));
        for _ in 0..(100 * 1024 * 1024 / line.len()) {
            f.write_all(line.as_bytes()).unwrap();
        }
    }
    let size = std::fs::metadata(&log).unwrap().len();
    let url = web.url(&format!(
        "/dags/listing_2_10/runs/{}/tasks/download_launches/logs/1/tail",
        run.replace('+', "%2B")
    ));
    let before = rss();
    let started = std::time::Instant::now();
    let r = client().get(url).send().await.unwrap();
    use futures::StreamExt;
    let mut body = r.bytes_stream();
    let (mut bytes, mut peak) = (0u64, before);
    while let Some(chunk) = body.next().await {
        bytes += chunk.unwrap().len() as u64;
        peak = peak.max(rss());
    }
    let growth = peak.saturating_sub(before);
    println!(
        "SSE tail of a {:.0} MB log: {:.1} MB of events in {:.2?}, RSS {:.1} MB → peak {:.1} MB (growth {:.1} MB)",
        size as f64 / 1e6,
        bytes as f64 / 1e6,
        started.elapsed(),
        before as f64 / 1e6,
        peak as f64 / 1e6,
        growth as f64 / 1e6
    );
    assert!(bytes >= size);
    assert!(growth < 20 * 1024 * 1024, "RSS grew by {growth} bytes");
    web.stop().await;
}
