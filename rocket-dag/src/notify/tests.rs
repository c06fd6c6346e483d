//! Tests of the notifiers against local servers and commands.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use futures::future::BoxFuture;
use serde_json::json;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;

use super::secret::redact_urls;
use super::*;
use crate::dag::DagBuilder;
use crate::error::TaskError;
use crate::runner::{RunRequest, RunState, Runner};
use crate::task::{Task, TaskOptions, TaskSpec, TriggerRule, XCom};

const SECRET: &str = "T0000/B0000/s3cr3t-t0k3n";

/// A local webhook: records every request (path, JSON body) and answers with the queued
/// status codes, then 200.
#[derive(Clone, Default)]
pub(super) struct Hook {
    received: Arc<Mutex<Vec<(String, Value)>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Hook {
    fn answering(statuses: &[u16]) -> Hook {
        let hook = Hook::default();
        hook.statuses.lock().unwrap().extend(statuses);
        hook
    }

    pub(super) async fn serve(&self) -> SocketAddr {
        let hook = self.clone();
        let app =
            axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
                let hook = hook.clone();
                async move {
                    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    hook.received
                        .lock()
                        .unwrap()
                        .push((uri.path().to_owned(), json));
                    let code = hook.statuses.lock().unwrap().pop_front().unwrap_or(200);
                    (
                        axum::http::StatusCode::from_u16(code).unwrap(),
                        "answer from the hook",
                    )
                }
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    pub(super) fn bodies(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    fn kinds(&self) -> Vec<String> {
        self.bodies()
            .iter()
            .map(|b| b["event"]["kind"].as_str().unwrap_or("?").to_owned())
            .collect()
    }
}

fn secret_url(addr: SocketAddr) -> String {
    format!("http://{addr}/services/{SECRET}?token=k3y")
}

fn webhook(url: &str, retries: u32, timeout: Duration) -> WebhookNotifier {
    let config = WebhookConfig::new(url)
        .unwrap()
        .retries(retries)
        .timeout(timeout);
    WebhookNotifier::new(&config)
        .unwrap()
        .with_backoff(Duration::from_millis(20))
}

/// A port nothing listens on: connections are refused.
pub(super) async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

pub(super) fn failed_event() -> Event {
    let ctx = TaskContext::builder("listing_2_10", "get_picture")
        .map_index(3)
        .try_number(2, 2)
        .build();
    let t = TaskTry {
        task_id: "get_picture",
        map_index: Some(3),
        try_number: 2,
        max_tries: 2,
    };
    Event::task_failed(&ctx.run, t, "HTTP status server error (503)")
}

#[test]
fn events_name_the_dag_run_task_element_try_and_cause() {
    let e = failed_event();
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["kind"], "task_failed");
    assert_eq!(v["dag_id"], "listing_2_10");
    assert!(v["run_id"].as_str().unwrap().starts_with("manual__"));
    assert_eq!(v["task_id"], "get_picture");
    assert_eq!(v["map_index"], 3);
    assert_eq!(v["try_number"], 2);
    assert_eq!(v["max_tries"], 2);
    assert_eq!(v["cause"], "HTTP status server error (503)");
    assert!(v.get("data").is_none());
    assert!(
        e.text()
            .contains("task `get_picture[3]` of DAG `listing_2_10` failed on try 2 of 2")
    );
    assert_eq!(serde_json::from_value::<Event>(v).unwrap(), e);

    assert_eq!(EventKind::from("run_finished"), EventKind::RunFinished);
    assert_eq!(
        EventKind::from("no_images".to_owned()),
        EventKind::Custom("no_images".into())
    );
    assert_eq!(String::from(EventKind::TaskRetrying), "task_retrying");
    let only = Notifiers::new()
        .with(LogNotifier)
        .only([EventKind::TaskFailed]);
    assert!(only.accepts(&EventKind::TaskFailed));
    assert!(!only.accepts(&EventKind::Custom("no_images".into())));
    assert!(Notifiers::new().accepts(&EventKind::RunFinished));
}

/// Runs `f` with the logs (`level` and up) captured; returns them.
pub(super) async fn logged<F: std::future::Future<Output = ()>>(
    level: tracing::Level,
    f: F,
) -> String {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .with_ansi(false)
        .with_max_level(level)
        .finish();
    {
        // tracing-core decides per callsite, once, whether anyone listens. With this scoped
        // subscriber as the only one registered it takes a shortcut that asks the registering
        // thread's own default, so a warning first hit by a test on another thread would be
        // switched off for good. A second registered dispatcher keeps every callsite asking.
        let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        let _guard = tracing::subscriber::set_default(subscriber);
        f.await;
    }
    String::from_utf8(logs.0.lock().unwrap().clone()).unwrap()
}

#[tokio::test]
async fn a_webhook_receives_the_slack_text_and_the_event() {
    let hook = Hook::default();
    let addr = hook.serve().await;
    let n = webhook(&secret_url(addr), 3, Duration::from_secs(5));
    let event = failed_event();
    n.notify(&event).await.unwrap();
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (path, body) = &received[0];
    assert_eq!(path, &format!("/services/{SECRET}"));
    assert_eq!(body["text"], event.text());
    assert_eq!(body["event"], serde_json::to_value(&event).unwrap());

    // Nothing in a cause can ping a channel.
    let mut hostile = failed_event();
    hostile.message = "<!channel> 5 > 4 & <html>".into();
    n.notify(&hostile).await.unwrap();
    assert_eq!(
        hook.bodies()[1]["text"],
        "&lt;!channel&gt; 5 &gt; 4 &amp; &lt;html&gt;"
    );
    assert_eq!(
        hook.bodies()[1]["event"]["message"],
        "<!channel> 5 > 4 & <html>"
    );
}

#[tokio::test]
async fn a_webhook_answering_500_twice_is_retried_until_it_accepts() {
    let hook = Hook::answering(&[500, 503]);
    let addr = hook.serve().await;
    let n = webhook(&secret_url(addr), 3, Duration::from_secs(5));
    n.notify(&failed_event()).await.unwrap();
    assert_eq!(hook.bodies().len(), 3);

    // 429 is retried too; the budget is retries + 1 requests.
    let hook = Hook::answering(&[429, 429, 429]);
    let addr = hook.serve().await;
    let n = webhook(&secret_url(addr), 1, Duration::from_secs(5));
    let err = n.notify(&failed_event()).await.unwrap_err();
    assert!(
        matches!(&err, NotifyError::Webhook { attempts: 2, cause, .. } if cause.starts_with("HTTP 429")),
        "{err}"
    );
    assert_eq!(hook.bodies().len(), 2);
}

#[tokio::test]
async fn a_404_is_not_retried() {
    let hook = Hook::answering(&[404]);
    let addr = hook.serve().await;
    let n = webhook(&secret_url(addr), 3, Duration::from_secs(5));
    let err = n.notify(&failed_event()).await.unwrap_err();
    assert!(
        matches!(&err, NotifyError::Webhook { attempts: 1, cause, .. }
                if cause.contains("404") && cause.contains("answer from the hook")),
        "{err}"
    );
    assert_eq!(hook.bodies().len(), 1);
}

#[tokio::test]
async fn a_webhook_that_is_down_fails_nothing_and_returns_within_its_bound() {
    let addr = closed_port().await;
    let n = webhook(&secret_url(addr), 2, Duration::from_secs(2));
    let bound = n.max_duration();
    let clock = Instant::now();
    let err = n.notify(&failed_event()).await.unwrap_err();
    assert!(
        clock.elapsed() < bound,
        "{:?} >= {bound:?}",
        clock.elapsed()
    );
    assert!(
        matches!(err, NotifyError::Webhook { attempts: 3, .. }),
        "{err}"
    );
    // Down for good: the next delivery makes a single request.
    let err = n.notify(&failed_event()).await.unwrap_err();
    assert!(
        matches!(err, NotifyError::Webhook { attempts: 1, .. }),
        "{err}"
    );

    // A whole run notifying it succeeds, and is not held up.
    let home = tempfile::tempdir().unwrap();
    let mut b = DagBuilder::new("calm");
    b.add::<Fine>();
    let dag = b.build().unwrap();
    let runner = Runner::new(home.path())
        .attempt_logs(false)
        .with_notifications(Notifiers::new().with(webhook(
            &secret_url(addr),
            2,
            Duration::from_secs(2),
        )));
    let clock = Instant::now();
    let report = runner.run(&dag, RunRequest::new(Utc::now())).await;
    assert_eq!(report.state, RunState::Success);
    assert!(clock.elapsed() < bound, "{:?}", clock.elapsed());
}

#[tokio::test]
async fn a_command_gets_the_event_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    let config = CommandConfig::new(
        "sh",
        [
            "-c",
            r#"cat > "$1"; printf '%s' "$ROCKET_DAG_EVENT_KIND" > "$1.kind""#,
            "sh",
            file.to_str().unwrap(),
        ],
    );
    let n = CommandNotifier::new(&config).unwrap();
    let event = failed_event();
    n.notify(&event).await.unwrap();
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(got, serde_json::to_value(&event).unwrap());
    let kind = std::fs::read_to_string(dir.path().join("event.json.kind")).unwrap();
    assert_eq!(kind, "task_failed");
}

#[tokio::test]
async fn a_failing_or_hanging_command_is_reported_and_killed() {
    let fails = CommandConfig::new("sh", ["-c", "echo 'no route to pager' >&2; exit 3"]);
    let err = CommandNotifier::new(&fails)
        .unwrap()
        .notify(&failed_event())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("command `sh`") && text.contains("3"),
        "{text}"
    );
    assert!(text.contains("no route to pager"), "{text}");
    assert!(!text.contains("exit 3"), "arguments are not shown: {text}");

    let hangs =
        CommandConfig::new("sh", ["-c", "sleep 30 & wait"]).timeout(Duration::from_millis(300));
    let clock = Instant::now();
    let err = CommandNotifier::new(&hangs)
        .unwrap()
        .notify(&failed_event())
        .await
        .unwrap_err();
    assert!(clock.elapsed() < Duration::from_secs(5));
    assert!(
        err.to_string()
            .contains("killed after its timeout of 300ms"),
        "{err}"
    );

    let missing = CommandConfig::new("/no/such/notifier", Vec::<String>::new());
    let err = CommandNotifier::new(&missing)
        .unwrap()
        .notify(&failed_event())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot start it"), "{err}");
}

pub(super) fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| vars.get(k).cloned()
}

#[test]
fn the_file_then_the_dag_section_then_the_environment() {
    let home = tempfile::tempdir().unwrap();
    let none = env(&[]);
    // No file: nothing.
    assert!(
        NotifyConfig::load(home.path(), "any", &none)
            .unwrap()
            .is_empty()
    );

    std::fs::write(
            home.path().join(CONFIG_FILE),
            r#"{
              "default": {
                "log": true,
                "webhooks": [{"url": "https://hooks.example.com/services/T0/B0/XXXX", "timeout": "5s", "retries": 2}],
                "events": ["task_failed", "run_finished"]
              },
              "dags": {
                "quiet": {"log": false, "webhooks": []},
                "paged": {"commands": [{"program": "page", "args": ["--key", "k3y"], "timeout": 2}], "events": ["*"]}
              }
            }"#,
        )
        .unwrap();
    let c = NotifyConfig::load(home.path(), "other", &none).unwrap();
    assert!(c.log);
    assert_eq!(c.webhooks.len(), 1);
    assert_eq!(c.webhooks[0].timeout, Duration::from_secs(5));
    assert_eq!(c.webhooks[0].retries, 2);
    assert_eq!(c.webhooks[0].url.expose().path(), "/services/T0/B0/XXXX");
    assert!(c.commands.is_empty());
    assert_eq!(
        c.events,
        Some(vec![EventKind::TaskFailed, EventKind::RunFinished])
    );

    assert!(
        NotifyConfig::load(home.path(), "quiet", &none)
            .unwrap()
            .is_empty()
    );

    let c = NotifyConfig::load(home.path(), "paged", &none).unwrap();
    assert_eq!(c.webhooks.len(), 1, "inherited from default");
    assert_eq!(c.commands[0].program, "page");
    assert_eq!(c.commands[0].args, ["--key", "k3y"]);
    assert_eq!(c.commands[0].timeout, Duration::from_secs(2));
    assert_eq!(c.events, None, "\"*\" sends every kind");

    // The environment replaces what the file says.
    let vars = env(&[
        (WEBHOOK_ENV, "https://chat.example.org/hooks/abc"),
        (COMMAND_ENV, "  notify-send  -u critical "),
        (EVENTS_ENV, "task_failed, no_images,"),
    ]);
    let c = NotifyConfig::load(home.path(), "quiet", &vars).unwrap();
    assert!(!c.log);
    assert_eq!(c.webhooks.len(), 1);
    assert_eq!(
        c.webhooks[0].url.expose().host_str(),
        Some("chat.example.org")
    );
    assert_eq!(c.webhooks[0].timeout, DEFAULT_WEBHOOK_TIMEOUT);
    assert_eq!(c.webhooks[0].retries, DEFAULT_WEBHOOK_RETRIES);
    assert_eq!(c.commands[0].program, "notify-send");
    assert_eq!(c.commands[0].args, ["-u", "critical"]);
    assert_eq!(
        c.events,
        Some(vec![
            EventKind::TaskFailed,
            EventKind::Custom("no_images".into())
        ])
    );
    let n = Notifiers::from_config(&c).unwrap();
    assert_eq!(n.list.len(), 2);
    assert!(!n.accepts(&EventKind::RunFinished));

    // Empty values turn things off; `*` lifts the filter.
    let vars = env(&[(WEBHOOK_ENV, ""), (COMMAND_ENV, " "), (EVENTS_ENV, "*")]);
    let c = NotifyConfig::load(home.path(), "paged", &vars).unwrap();
    assert!(c.webhooks.is_empty() && c.commands.is_empty() && c.log);
    assert_eq!(c.events, None);

    // Mistakes are errors.
    let err = NotifyConfig::load(
        home.path(),
        "x",
        env(&[(WEBHOOK_ENV, "ftp://h/secretpath")]),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Env {
                var: WEBHOOK_ENV,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("secretpath"), "{err}");
    for (bad, says) in [
        (r#"{"default": {"webhook": []}}"#, "unknown field `webhook`"),
        (
            r#"{"default": {"commands": [{"program": "p", "timeout": "5 minutes"}]}}"#,
            "invalid duration `5 minutes`",
        ),
        (
            r#"{"default": {"commands": [{"program": " "}]}}"#,
            "needs a program",
        ),
        (
            r#"{"default": {"webhooks": [{"url": "not a url"}]}}"#,
            "invalid webhook URL",
        ),
    ] {
        std::fs::write(home.path().join(CONFIG_FILE), bad).unwrap();
        let err = NotifyConfig::load(home.path(), "x", &none).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
        assert!(err.to_string().contains(says), "{bad}: {err}");
    }
}

#[test]
fn urls_in_messages_are_redacted() {
    assert_eq!(
        redact_urls("error for url (https://hooks.slack.com/services/T/B/X?k=1): refused"),
        "error for url (https://hooks.slack.com/…): refused"
    );
    assert_eq!(
        redact_urls("…https://h.example:8443/s3cret and «ftp://x/y» and a://"),
        "…https://h.example:8443/… and «ftp://x/… and a://…"
    );
    assert_eq!(redact_urls("no url here"), "no url here");
}

#[derive(Clone, Default)]
pub(super) struct Captured(pub(super) Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn webhook_secrets_never_show_in_messages_logs_or_debug() {
    let hook = Hook::answering(&[404]);
    let up = hook.serve().await;
    let down = closed_port().await;
    let (url_up, url_down) = (secret_url(up), secret_url(down));

    let shown = SecretUrl::parse(&url_up).unwrap();
    assert_eq!(shown.to_string(), format!("http://{up}/…"));
    let with_user = SecretUrl::parse("https://user:pa55@hooks.slack.com/services/x").unwrap();
    assert_eq!(with_user.to_string(), "https://hooks.slack.com/…");

    let config = NotifyConfig {
        log: true,
        webhooks: vec![WebhookConfig::new(&url_up).unwrap()],
        commands: vec![CommandConfig::new("page", ["--api-key", "k3y-pa55"])],
        email: None,
        events: None,
    };
    let notifiers = Notifiers::from_config(&config).unwrap().with(webhook(
        &url_down,
        1,
        Duration::from_secs(2),
    ));
    let debug = format!(
        "{config:?} {notifiers:?} {:?}",
        webhook(&url_up, 0, Duration::from_secs(1))
    );
    for secret in [SECRET, "k3y", "services", "pa55"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains(&format!("http://{up}/…")), "{debug}");

    // A serde message that would quote a misplaced URL.
    let err = NotifyConfig::from_json(
        &format!(r#"{{"default": {{"webhooks": "{url_up}"}}}}"#),
        "x",
    )
    .unwrap_err();
    assert!(
        !err.contains(SECRET) && err.contains(&format!("http://{up}/…")),
        "{err}"
    );

    // Failed deliveries (a 404, a refused connection) log a warning without the secret.
    let logs = logged(tracing::Level::DEBUG, async {
        let only_hooks = Notifiers::new()
            .with(webhook(&url_up, 2, Duration::from_secs(2)))
            .with(webhook(&url_down, 1, Duration::from_secs(2)));
        only_hooks.send(&failed_event()).await;
    })
    .await;
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 2, "{logs}");
    assert!(warnings.iter().any(|w| w.contains("HTTP 404")), "{logs}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&format!("http://{down}/…"))),
        "{logs}"
    );
    for secret in [SECRET, "services", "token", "k3y"] {
        assert!(!logs.contains(secret), "{secret} in {logs}");
    }
}

struct Fine;

impl Task for Fine {
    type Output = ();
    const ID: &'static str = "fine";
    fn spec() -> TaskSpec {
        TaskSpec::new("fine")
    }
    fn call<'a>(_: &'a TaskContext, _: &'a [XCom]) -> BoxFuture<'a, Result<(), TaskError>> {
        Box::pin(async { Ok(()) })
    }
}

struct Boom;

impl Task for Boom {
    type Output = ();
    const ID: &'static str = "boom";
    fn spec() -> TaskSpec {
        let mut s = TaskSpec::new("boom");
        s.options = TaskOptions::new()
            .retries(1)
            .retry_delay(Duration::from_millis(10));
        s
    }
    fn call<'a>(_: &'a TaskContext, _: &'a [XCom]) -> BoxFuture<'a, Result<(), TaskError>> {
        Box::pin(async { Err(TaskError::msg("the API answered 503")) })
    }
}

/// Runs anyway and reports, as the Rocket DAG's `notify` does.
struct Report;

impl Task for Report {
    type Output = ();
    const ID: &'static str = "report";
    fn spec() -> TaskSpec {
        let mut s = TaskSpec::new("report");
        s.options = TaskOptions::new().trigger_rule(TriggerRule::AllDone);
        s
    }
    fn call<'a>(ctx: &'a TaskContext, _: &'a [XCom]) -> BoxFuture<'a, Result<(), TaskError>> {
        Box::pin(async move {
            ctx.notify(
                "task_failed",
                "tasks cannot pose as the runner",
                Value::Null,
            );
            ctx.notify("no_images", "no images in this run", json!({ "images": 0 }));
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_failing_task_notifies_retrying_failed_then_the_run_finished() {
    let hook = Hook::default();
    let addr = hook.serve().await;
    let mut b = DagBuilder::new("notified");
    let boom = b.add::<Boom>();
    let report = b.add::<Report>();
    b.edge(boom, report);
    let dag = b.build().unwrap();
    let home = tempfile::tempdir().unwrap();
    let runner = Runner::new(home.path())
        .attempt_logs(false)
        .with_notifications(Notifiers::new().with(LogNotifier))
        .with_dag_notifications(
            "notified",
            Notifiers::new().with(webhook(&secret_url(addr), 1, Duration::from_secs(5))),
        );
    let r = runner.run(&dag, RunRequest::new(Utc::now())).await;
    assert_eq!(r.state, RunState::Failed);

    // Delivered, in order, before `run` returned.
    assert_eq!(
        hook.kinds(),
        ["task_retrying", "task_failed", "no_images", "run_finished"]
    );
    let events: Vec<Value> = hook
        .bodies()
        .into_iter()
        .map(|b| b["event"].clone())
        .collect();
    let (retrying, failed, custom, finished) = (&events[0], &events[1], &events[2], &events[3]);
    for e in &events {
        assert_eq!(e["dag_id"], "notified");
        assert_eq!(e["run_id"], r.run_id.as_str());
    }
    assert_eq!(retrying["task_id"], "boom");
    assert_eq!(retrying["try_number"], 1);
    assert_eq!(retrying["max_tries"], 2);
    assert_eq!(retrying["data"]["retry_in_secs"], 0.01);
    assert!(retrying["cause"].as_str().unwrap().contains("503"));
    assert_eq!(failed["try_number"], 2);
    assert!(failed["cause"].as_str().unwrap().contains("503"));
    assert!(failed.get("map_index").is_none());
    assert_eq!(custom["task_id"], "report");
    assert_eq!(custom["message"], "no images in this run");
    assert_eq!(custom["data"], json!({ "images": 0 }));
    assert_eq!(finished["data"]["state"], "failed");
    assert_eq!(finished["data"]["failed_tasks"], json!(["boom"]));
    assert_eq!(finished["data"]["summary"], r.summary_table());
    let text = hook.bodies()[3]["text"].as_str().unwrap().to_owned();
    assert!(
        text.contains("; failed tasks: boom") && text.contains("```"),
        "{text}"
    );

    // Another DAG on the same runner uses the default notifiers: the webhook hears nothing.
    let mut b = DagBuilder::new("other");
    b.add::<Boom>();
    runner
        .run(&b.build().unwrap(), RunRequest::new(Utc::now()))
        .await;
    assert_eq!(hook.bodies().len(), 4);
}
