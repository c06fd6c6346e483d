//! `webserver`, `standalone` and `users add`.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use super::*;
use crate::dag::Dag;
use crate::web::{Auth, Metrics, Server, WebConfig};

/// Binds the web server as `args` say.
async fn bind(
    dags: &[Dag],
    global: &GlobalArgs,
    args: &WebArgs,
    store: crate::store::Store,
    metrics: Metrics,
) -> Result<Server, ExitCode> {
    let home = global.home();
    let auth = Auth::from_home(&home, args.users.as_deref()).map_err(usage)?;
    let config = WebConfig {
        addr: SocketAddr::new(args.host, args.port),
        auth,
    };
    Server::bind(dags.to_vec(), home, store, config, metrics)
        .await
        .map_err(|e| match e {
            crate::web::WebError::Exposed { .. } => usage(e),
            e => fail(e),
        })
}

/// `webserver`: the UI and the API until Ctrl-C; runs are started by a `scheduler` (triggered
/// ones are queued for it, as in Airflow).
pub(super) async fn webserver(dags: &[Dag], global: &GlobalArgs, args: WebArgs) -> ExitCode {
    crate::logging::init();
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let server = match bind(dags, global, &args, store, Metrics::new()).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    println!("{}", server.startup_line());
    let stop = tokio_util::sync::CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        crate::signal::shutdown_signal().await;
        on_signal.cancel();
    });
    match server.run(stop).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// `standalone`: the scheduler and the web server in one process; Ctrl-C stops both (running
/// attempts are recorded as interrupted, as `scheduler` does).
pub(super) async fn standalone(dags: &[Dag], global: &GlobalArgs, args: WebArgs) -> ExitCode {
    crate::logging::init();
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let metrics = Metrics::new();
    let runner = match global.runner(dags) {
        Ok(r) => metrics.observe(r.with_store(store.clone())),
        Err(code) => return code,
    };
    let server = match bind(dags, global, &args, store.clone(), metrics).await {
        Ok(s) => s.with_scheduler(),
        Err(code) => return code,
    };
    runner.cancel_on_signals();
    let stop = runner.cancellation_token();
    println!("{}", server.startup_line());
    let web = tokio::spawn(server.run(stop.clone()));
    let scheduled = crate::scheduler::run(dags, runner, store, stop.clone()).await;
    stop.cancel();
    let served = web.await;
    match (scheduled, served) {
        (Err(e @ crate::scheduler::SchedulerError::AlreadyRunning { .. }), _) => usage(e),
        (Err(e), _) => fail(e),
        (Ok(()), Ok(Ok(()))) => ExitCode::SUCCESS,
        (Ok(()), Ok(Err(e))) => fail(e),
        (Ok(()), Err(e)) => fail(e),
    }
}

/// `users add NAME`: the password from standard input (one line).
pub(super) fn add_user(global: &GlobalArgs, name: String, file: Option<PathBuf>) -> ExitCode {
    let path = file.unwrap_or_else(|| crate::web::auth::default_users_file(&global.home()));
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        return fail(format!("cannot create {}: {e}", dir.display()));
    }
    eprintln!("password for {name} (one line on standard input):");
    let mut password = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut password) {
        return fail(format!("cannot read the password: {e}"));
    }
    let password = password.trim_end_matches(['\n', '\r']);
    match crate::web::auth::add_user(&path, &name, password) {
        Ok(()) => {
            println!("user {name} saved in {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => usage(e),
    }
}
