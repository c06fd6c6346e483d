//! Tests of the email settings, and of the email notifier against a small SMTP server on
//! 127.0.0.1.

use std::time::Duration;

use super::tests::env;
use super::*;

const PASSWORD: &str = "pa55-w0rd-s3cr3t";

#[test]
fn email_settings_from_the_file_the_dag_sections_and_the_environment() {
    let home = tempfile::tempdir().unwrap();
    let none = env(&[]);
    std::fs::write(
        home.path().join(CONFIG_FILE),
        r#"{
          "default": {
            "email": {"host": "smtp.example.com", "from": "rocket-dag <dags@example.com>",
                      "to": "oncall@example.com", "timeout": "5s", "retries": 1},
            "events": ["task_failed"]
          },
          "dags": {
            "quiet": {"email": null},
            "mine": {"email": {"host": "mail.example.org", "port": 2465, "security": "tls",
                               "from": "me@example.org", "to": ["a@example.org", "b@example.org"]}}
          }
        }"#,
    )
    .unwrap();
    let c = NotifyConfig::load(home.path(), "other", &none).unwrap();
    let e = c.email.as_ref().unwrap();
    assert_eq!(e.host, "smtp.example.com");
    assert_eq!(e.security, SmtpSecurity::StartTls, "the default");
    assert_eq!(e.effective_port(), 587);
    assert_eq!(e.from, "rocket-dag <dags@example.com>");
    assert_eq!(e.to, ["oncall@example.com"]);
    assert_eq!(e.timeout, Duration::from_secs(5));
    assert_eq!(e.retries, 1);
    assert!(e.credentials.is_none());
    assert!(!c.is_empty());

    let c = NotifyConfig::load(home.path(), "quiet", &none).unwrap();
    assert!(c.email.is_none() && c.is_empty());

    let c = NotifyConfig::load(home.path(), "mine", &none).unwrap();
    let e = c.email.as_ref().unwrap();
    assert_eq!((e.security, e.effective_port()), (SmtpSecurity::Tls, 2465));
    assert_eq!(e.to, ["a@example.org", "b@example.org"]);
    assert_eq!(e.timeout, DEFAULT_EMAIL_TIMEOUT);
    assert_eq!(e.retries, DEFAULT_WEBHOOK_RETRIES);

    // The environment changes the file's settings, the login comes from it only.
    let vars = env(&[
        (SMTP_PORT_ENV, "2525"),
        (SMTP_SECURITY_ENV, "TLS"),
        (SMTP_TO_ENV, " x@example.com, ,y@example.com "),
        (SMTP_USERNAME_ENV, "dags"),
        (SMTP_PASSWORD_ENV, PASSWORD),
    ]);
    let c = NotifyConfig::load(home.path(), "other", &vars).unwrap();
    let e = c.email.as_ref().unwrap();
    assert_eq!(e.host, "smtp.example.com");
    assert_eq!((e.security, e.effective_port()), (SmtpSecurity::Tls, 2525));
    assert_eq!(e.to, ["x@example.com", "y@example.com"]);
    let login = e.credentials.as_ref().unwrap();
    assert_eq!(
        (login.username(), login.expose_password()),
        ("dags", PASSWORD)
    );
    let debug = format!("{c:?}");
    assert!(
        debug.contains("dags") && !debug.contains(PASSWORD),
        "{debug}"
    );
    // A DAG that turned email off stays off with them…
    let c = NotifyConfig::load(home.path(), "quiet", &vars).unwrap();
    assert!(c.email.is_none());
    // …but the host turns it on for every DAG, and an empty host off.
    let vars = env(&[
        (SMTP_HOST_ENV, "relay.example.net"),
        (SMTP_FROM_ENV, "dags@example.net"),
        (SMTP_TO_ENV, "ops@example.net"),
    ]);
    let c = NotifyConfig::load(home.path(), "quiet", &vars).unwrap();
    let e = c.email.as_ref().unwrap();
    assert_eq!(
        (e.host.as_str(), e.from.as_str()),
        ("relay.example.net", "dags@example.net")
    );
    assert_eq!(e.to, ["ops@example.net"]);
    let c = NotifyConfig::load(home.path(), "other", env(&[(SMTP_HOST_ENV, " ")])).unwrap();
    assert!(c.email.is_none());

    // Without a file, the environment alone.
    let bare = tempfile::tempdir().unwrap();
    let c = NotifyConfig::load(bare.path(), "any", &vars).unwrap();
    assert_eq!(c.email.unwrap().effective_port(), 587);
}

#[test]
fn bad_email_settings_are_clear_errors_that_never_quote_the_password() {
    let home = tempfile::tempdir().unwrap();
    let none = env(&[]);
    for (bad, says) in [
        (
            r#"{"default": {"email": {"host": "h", "from": "a@b", "to": "c@d", "smtp_port": 25}}}"#,
            "unknown field `smtp_port`",
        ),
        (
            r#"{"default": {"email": {"host": "h", "from": "a@b", "to": "c@d", "security": "ssl"}}}"#,
            "unknown variant `ssl`",
        ),
        (
            r#"{"default": {"email": {"host": "h", "from": "a@b"}}}"#,
            "missing field `to`",
        ),
        (
            r#"{"default": {"email": {"host": "h", "from": "a@b", "to": 3}}}"#,
            "`to` must be an email address or a list of them",
        ),
        (
            r#"{"default": {"email": {"host": "h", "from": "a@b", "to": []}}}"#,
            "no recipient",
        ),
        (
            r#"{"default": {"email": {"host": "h", "from": "nobody", "to": "c@d"}}}"#,
            "`nobody` is not an email address",
        ),
        (
            r#"{"default": {"email": {"host": "h", "from": "a@b", "to": "c@d\r\nBcc: e@f"}}}"#,
            "control character",
        ),
        (
            r#"{"default": {"email": {"host": "smtp.example.com", "security": "none", "from": "a@b", "to": "c@d"}}}"#,
            "only allowed to a loopback host",
        ),
        (
            r#"{"default": {"email": {"host": "h", "port": 0, "from": "a@b", "to": "c@d"}}}"#,
            "port cannot be 0",
        ),
    ] {
        std::fs::write(home.path().join(CONFIG_FILE), bad).unwrap();
        let err = NotifyConfig::load(home.path(), "x", &none).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
        assert!(err.to_string().contains(says), "{bad}: {err}");
    }

    // `none` is for a local relay: loopback hosts only.
    std::fs::remove_file(home.path().join(CONFIG_FILE)).unwrap();
    let base = [
        (SMTP_FROM_ENV, "a@example.com"),
        (SMTP_TO_ENV, "b@example.com"),
        (SMTP_SECURITY_ENV, "none"),
        (SMTP_USERNAME_ENV, "dags"),
        (SMTP_PASSWORD_ENV, PASSWORD),
    ];
    for host in ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"] {
        let vars = env(&[&base[..], &[(SMTP_HOST_ENV, host)]].concat());
        let c = NotifyConfig::load(home.path(), "x", vars).unwrap();
        assert_eq!(c.email.unwrap().effective_port(), 25, "{host}");
    }
    for host in [
        "smtp.example.com",
        "10.0.0.1",
        "localhost.example.com",
        "::2",
    ] {
        let vars = env(&[&base[..], &[(SMTP_HOST_ENV, host)]].concat());
        let err = NotifyConfig::load(home.path(), "x", vars).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Env {
                    var: SMTP_SECURITY_ENV,
                    ..
                }
            ),
            "{host}: {err}"
        );
        assert!(err.to_string().contains("loopback"), "{err}");
    }
    let config =
        EmailConfig::new("smtp.example.com", "a@b.c", ["d@e.f"]).security(SmtpSecurity::None);
    #[cfg(feature = "email")]
    {
        let err = EmailNotifier::new(&config).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Email(m) if m.contains("loopback")),
            "{err}"
        );
    }
    let err = Notifiers::from_config(&NotifyConfig {
        email: Some(config),
        ..NotifyConfig::default()
    })
    .unwrap_err();
    assert!(matches!(err, ConfigError::Email(_)), "{err}");

    for (vars, var, says) in [
        (
            vec![(SMTP_HOST_ENV, "h"), (SMTP_PORT_ENV, "25x")],
            SMTP_PORT_ENV,
            "not a port number",
        ),
        (
            vec![(SMTP_HOST_ENV, "h"), (SMTP_SECURITY_ENV, "ssl")],
            SMTP_SECURITY_ENV,
            "unknown SMTP security `ssl`",
        ),
        (
            vec![(SMTP_HOST_ENV, "h"), (SMTP_TO_ENV, "b@c")],
            SMTP_FROM_ENV,
            "the address is empty",
        ),
        (
            vec![(SMTP_HOST_ENV, "h"), (SMTP_FROM_ENV, "a@b")],
            SMTP_TO_ENV,
            "no recipient",
        ),
        (
            vec![(SMTP_FROM_ENV, "a@b"), (SMTP_TO_ENV, "b@c")],
            SMTP_HOST_ENV,
            "ROCKET_DAG_SMTP_FROM is set but there is no SMTP host",
        ),
        (
            vec![(SMTP_PASSWORD_ENV, PASSWORD)],
            SMTP_USERNAME_ENV,
            "set without a user name",
        ),
        (
            vec![(SMTP_HOST_ENV, "h"), (SMTP_USERNAME_ENV, "dags")],
            SMTP_PASSWORD_ENV,
            "set without a password",
        ),
    ] {
        let err = NotifyConfig::load(home.path(), "x", env(&vars)).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Env { var: v, .. } if *v == var),
            "{vars:?}: {err}"
        );
        assert!(err.to_string().contains(says), "{vars:?}: {err}");
        assert!(!err.to_string().contains(PASSWORD), "{err}");
    }
}

#[cfg(not(feature = "email"))]
#[test]
fn without_the_email_feature_email_settings_are_refused() {
    let config = NotifyConfig {
        email: Some(EmailConfig::new("localhost", "a@b.c", ["d@e.f"])),
        ..NotifyConfig::default()
    };
    let err = Notifiers::from_config(&config).unwrap_err();
    assert!(err.to_string().contains("`email` feature"), "{err}");
}

#[cfg(feature = "email")]
mod smtp_server;

#[cfg(feature = "email")]
mod delivery {
    use std::net::SocketAddr;
    use std::time::Instant;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;

    use super::super::email::subject;
    use super::super::tests::{Hook, closed_port, env, failed_event, logged};
    use super::smtp_server::Smtp;
    use super::*;

    /// A notifier to the test server, without encryption (the server is on the loopback).
    fn email(addr: SocketAddr, retries: u32) -> EmailNotifier {
        let config = EmailConfig::new("127.0.0.1", "dags@example.com", ["oncall@example.com"])
            .port(addr.port())
            .security(SmtpSecurity::None)
            .retries(retries)
            .timeout(Duration::from_secs(5));
        EmailNotifier::new(&config)
            .unwrap()
            .with_backoff(Duration::from_millis(20))
    }

    #[tokio::test]
    async fn an_event_arrives_as_an_email_with_the_login_from_the_environment() {
        let smtp = Smtp {
            auth: true,
            ..Smtp::default()
        };
        let addr = smtp.serve().await;
        let home = tempfile::tempdir().unwrap();
        let port = addr.port().to_string();
        let vars = env(&[
            (SMTP_HOST_ENV, "127.0.0.1"),
            (SMTP_PORT_ENV, &port),
            (SMTP_SECURITY_ENV, "none"),
            (SMTP_FROM_ENV, "rocket-dag <dags@example.com>"),
            (
                SMTP_TO_ENV,
                "oncall@example.com, Data Team <data@example.com>",
            ),
            (SMTP_USERNAME_ENV, "dags"),
            (SMTP_PASSWORD_ENV, PASSWORD),
        ]);
        let config = NotifyConfig::load(home.path(), "listing_2_10", vars).unwrap();
        let notifiers = Notifiers::from_config(&config).unwrap();
        let notifier = EmailNotifier::new(config.email.as_ref().unwrap()).unwrap();
        let event = failed_event();
        let logs = logged(tracing::Level::TRACE, notifiers.send(&event)).await;

        let mails = smtp.mails();
        assert_eq!(mails.len(), 1, "{:?}", smtp.commands());
        let mail = &mails[0];
        assert_eq!(mail.from, "dags@example.com");
        assert_eq!(mail.to, ["oncall@example.com", "data@example.com"]);
        assert_eq!(
            mail.header("From").unwrap(),
            "rocket-dag <dags@example.com>"
        );
        let to = mail.header("To").unwrap();
        assert!(
            to.contains("oncall@example.com") && to.contains("\"Data Team\" <data@example.com>"),
            "{to}"
        );
        assert_eq!(
            mail.header("Subject").unwrap(),
            "[rocket-dag] task_failed: listing_2_10/get_picture[3]"
        );
        let id = mail.header("Message-ID").unwrap();
        assert!(
            id.starts_with("<rocket-dag.") && id.ends_with("@example.com>"),
            "{id}"
        );
        assert!(mail.header("Date").is_some());
        assert!(
            mail.header("Content-Type")
                .unwrap()
                .starts_with("text/plain")
        );
        let body = mail.body();
        assert!(body.starts_with(&event.text()), "{body}");
        let json = body.split_once("The event:\n").unwrap().1;
        let sent: Event = serde_json::from_str(json).unwrap();
        assert_eq!(sent, event);

        // The login reached AUTH, and nothing else shows the password.
        assert_eq!(
            smtp.seen.lock().unwrap().logins,
            [("dags".to_owned(), PASSWORD.to_owned())]
        );
        let encoded = BASE64.encode(format!("\0dags\0{PASSWORD}"));
        let debug = format!(
            "{config:?} {notifiers:?} {notifier:?} {:?}",
            config.email.as_ref().unwrap().credentials
        );
        assert!(debug.contains("dags"), "{debug}");
        for secret in [PASSWORD, &encoded] {
            assert!(!debug.contains(secret), "{debug}");
            assert!(!logs.contains(secret), "{logs}");
        }
        assert!(
            logs.contains("notification task_failed sent to email via 127.0.0.1:"),
            "{logs}"
        );

        // A refused login: a permanent failure, logged without the password.
        let refused = Smtp {
            auth: true,
            ..Smtp::failing(&[("AUTH", "535 5.7.8 Authentication credentials invalid"); 2])
        };
        let addr = refused.serve().await;
        let config = EmailConfig::new("localhost", "dags@example.com", ["oncall@example.com"])
            .port(addr.port())
            .security(SmtpSecurity::None)
            .credentials(SmtpCredentials::new("dags", PASSWORD));
        let n = EmailNotifier::new(&config).unwrap();
        let mut error = None;
        let logs = logged(tracing::Level::TRACE, async {
            error = n.notify(&event).await.err();
            Notifiers::new().with(n).send(&event).await;
        })
        .await;
        let error = error.unwrap().to_string();
        assert!(
            error.contains("535") && error.contains("(1 attempt(s))"),
            "{error}"
        );
        assert!(logs.contains("WARN") && logs.contains("535"), "{logs}");
        for secret in [PASSWORD, &encoded] {
            assert!(
                !error.contains(secret) && !logs.contains(secret),
                "{error} {logs}"
            );
        }
        assert_eq!(refused.connections(), 2);
        assert!(refused.mails().is_empty());
    }

    #[tokio::test]
    async fn nothing_in_an_id_or_a_cause_becomes_a_header() {
        let smtp = Smtp::default();
        let addr = smtp.serve().await;
        let hostile = "x\r\nBcc: evil@x\r\n\r\nhi\nBcc: evil2@x\rBcc: evil3@x\u{2028}Bcc: evil4@x";
        let mut event = failed_event();
        event.dag_id = format!("dag{hostile}");
        event.task_id = Some(format!("task{hostile}"));
        event.cause = Some(format!("boom{hostile}"));
        event.message = format!("failed: boom{hostile}");
        email(addr, 0).notify(&event).await.unwrap();

        let mails = smtp.mails();
        assert_eq!(mails.len(), 1);
        let mail = &mails[0];
        assert_eq!(mail.to, ["oncall@example.com"], "no other recipient");
        let headers = mail.headers();
        assert!(
            !headers
                .iter()
                .any(|h| h.to_ascii_lowercase().starts_with("bcc")),
            "{headers:#?}"
        );
        let subject = mail.header("Subject").unwrap();
        assert!(
            subject.starts_with("[rocket-dag] task_failed: dagx  Bcc: evil@x"),
            "{subject}"
        );
        // The body has it all, as text.
        let body = mail.body();
        assert!(
            body.contains(&event.message.replace("\r\n", "\n")),
            "{body}"
        );

        let subject = super::super::email::subject(&event);
        assert!(!subject.contains(['\r', '\n', '\u{2028}']), "{subject}");
        let mut long = failed_event();
        long.task_id = Some("t".repeat(500));
        assert_eq!(subject_len(&long), 161);
    }

    fn subject_len(event: &Event) -> usize {
        subject(event).chars().count()
    }

    #[tokio::test]
    async fn a_421_is_retried_and_the_email_sent_once() {
        let smtp = Smtp::failing(&[
            ("CONNECT", "421 4.3.2 busy, try again later"),
            ("MAIL", "451 4.3.0 temporary failure"),
        ]);
        let addr = smtp.serve().await;
        email(addr, 3).notify(&failed_event()).await.unwrap();
        assert_eq!(smtp.connections(), 3);
        assert_eq!(smtp.mails().len(), 1);

        // The budget is retries + 1 attempts.
        let smtp = Smtp::failing(&[("CONNECT", "421 4.3.2 busy"), ("CONNECT", "421 4.3.2 busy")]);
        let addr = smtp.serve().await;
        let err = email(addr, 1).notify(&failed_event()).await.unwrap_err();
        assert!(
            matches!(&err, NotifyError::Email { attempts: 2, cause, .. } if cause.contains("421")),
            "{err}"
        );
        assert!(smtp.mails().is_empty());
    }

    #[tokio::test]
    async fn a_550_is_not_retried() {
        let smtp = Smtp::failing(&[("RCPT", "550 5.1.1 no such user")]);
        let addr = smtp.serve().await;
        let err = email(addr, 3).notify(&failed_event()).await.unwrap_err();
        assert!(
            matches!(&err, NotifyError::Email { attempts: 1, cause, .. } if cause.contains("550")),
            "{err}"
        );
        assert!(err.to_string().contains("no such user"), "{err}");
        assert_eq!(smtp.connections(), 1);
        assert!(smtp.mails().is_empty());
    }

    #[tokio::test]
    async fn a_dead_smtp_server_fails_fast_and_fails_nothing_else() {
        let down = closed_port().await;
        let n = email(down, 2);
        let started = Instant::now();
        let err = n.notify(&failed_event()).await.unwrap_err();
        assert!(
            matches!(&err, NotifyError::Email { attempts: 3, .. }),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{err}");

        // The other notifiers still get the event; the email is tried once more, once.
        let hook = Hook::default();
        let addr = hook.serve().await;
        let url = format!("http://{addr}/hook");
        let notifiers = Notifiers::new()
            .with(n)
            .with(WebhookNotifier::new(&WebhookConfig::new(&url).unwrap()).unwrap());
        let started = Instant::now();
        notifiers.send(&failed_event()).await;
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(hook.bodies().len(), 1);
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out_each_attempt() {
        // Accepts the connection, then says nothing (not even the greeting).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(stream);
            }
        });
        let config = EmailConfig::new("127.0.0.1", "dags@example.com", ["oncall@example.com"])
            .port(addr.port())
            .security(SmtpSecurity::None)
            .retries(1)
            .timeout(Duration::from_millis(300));
        let n = EmailNotifier::new(&config)
            .unwrap()
            .with_backoff(Duration::from_millis(20));
        let started = Instant::now();
        let err = n.notify(&failed_event()).await.unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(&err, NotifyError::Email { attempts: 2, cause, .. }
                if cause.contains("no answer within") || cause.contains("timed out")),
            "{err}"
        );
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
        // Two attempts of 300 ms and a backoff, bounded by what the notifier announces.
        assert!(took >= Duration::from_millis(600), "{took:?}");
        assert!(
            took <= n.max_duration() + Duration::from_secs(1),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn starttls_is_required_without_a_fallback_to_plain_text() {
        // A server that does not offer STARTTLS: refused at once, nothing sent in clear.
        let smtp = Smtp {
            auth: true,
            ..Smtp::default()
        };
        let addr = smtp.serve().await;
        let config = EmailConfig::new("127.0.0.1", "dags@example.com", ["oncall@example.com"])
            .port(addr.port())
            .credentials(SmtpCredentials::new("dags", PASSWORD));
        assert_eq!(config.security, SmtpSecurity::StartTls, "the default");
        let n = EmailNotifier::new(&config)
            .unwrap()
            .with_backoff(Duration::from_millis(20));
        let err = n.notify(&failed_event()).await.unwrap_err();
        assert!(
            matches!(&err, NotifyError::Email { attempts: 1, cause, .. }
                if cause.contains("does not offer STARTTLS")),
            "{err}"
        );
        let commands = smtp.commands();
        assert!(
            commands
                .iter()
                .all(|c| c.starts_with("EHLO") || c == "QUIT"),
            "{commands:?}"
        );

        // One that offers it and then cannot (454, transient): retried, never in clear.
        let smtp = Smtp {
            auth: true,
            starttls: true,
            ..Smtp::default()
        };
        let addr = smtp.serve().await;
        let n = EmailNotifier::new(&config.clone().port(addr.port()).retries(1))
            .unwrap()
            .with_backoff(Duration::from_millis(20));
        let err = n.notify(&failed_event()).await.unwrap_err();
        assert!(
            matches!(&err, NotifyError::Email { attempts: 2, cause, .. } if cause.contains("454")),
            "{err}"
        );
        let commands = smtp.commands();
        assert!(
            commands
                .iter()
                .all(|c| c.starts_with("EHLO") || c == "STARTTLS" || c == "QUIT"),
            "{commands:?}"
        );
        assert!(smtp.mails().is_empty());
    }
}
