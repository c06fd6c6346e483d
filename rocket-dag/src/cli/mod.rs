//! The command line: [`main`] turns any binary that builds DAGs into an Airflow-style CLI
//! (`dags list|show|next-execution|test`, `tasks list|test`, `logs`), with human-readable output
//! by default and `--output json` for scripts.
//!
//! Exit codes: 0 success, 1 a run or task failed (or its history could not be recorded), 2 a
//! usage error (unknown DAG or task, bad argument, unusable notification configuration), 75 the
//! run is being executed by another process ([`BUSY`]), 130 interrupted by Ctrl-C or SIGTERM.
//!
//! Everything printed from data (errors, log lines) is escaped for the terminal
//! ([`crate::escape::control`]); ids given on the command line are checked by [`crate::ids`]
//! before they reach a path or the store.
//!
//! `dags test`, `dags backfill` and `scheduler` send each DAG's notifications as configured in
//! `<home>/notifications.json` and the `ROCKET_DAG_NOTIFY_WEBHOOK`, `ROCKET_DAG_NOTIFY_COMMAND`,
//! `ROCKET_DAG_NOTIFY_EVENTS` and `ROCKET_DAG_SMTP_*` variables (format and precedence:
//! [`crate::notify`]).

mod airflow;
mod args;
mod backfill;
mod dags;
mod export;
mod handin;
mod logs;
mod pictures;
mod runs;
mod tasks;
#[cfg(feature = "web")]
mod web;

pub use args::*;
pub use dags::test_dag;

use std::path::Path;
use std::process::ExitCode;

use crate::dag::Dag;
use crate::runner::Runner;

/// The exit code when the run asked for is being executed by another process (`EX_TEMPFAIL`:
/// try again later, or wait with `--wait`).
pub const BUSY: u8 = 75;

/// Parses the process's arguments and runs the command over `dags` on a new tokio runtime:
/// the whole `main` of a DAG binary.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     rocket_dag::cli::main(vec![/* my_dag(), … */])
/// }
/// ```
pub fn main(dags: Vec<Dag>) -> ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(execute(&dags, cli.command, &cli.global)),
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Gives each DAG the notifications configured for it in `home` (`<home>/notifications.json`
/// and the `ROCKET_DAG_NOTIFY_*` / `ROCKET_DAG_SMTP_*` variables, see [`crate::notify`]); a
/// configuration that
/// cannot be used is a usage error, rather than a run that silently notifies nobody.
fn with_notifications<'a>(
    mut runner: Runner,
    home: &Path,
    dags: impl IntoIterator<Item = &'a Dag>,
) -> Result<Runner, ExitCode> {
    use crate::notify::{Notifiers, NotifyConfig};
    for dag in dags {
        let notifiers = NotifyConfig::load(home, dag.id(), |k| std::env::var(k).ok())
            .and_then(|c| Notifiers::from_config(&c))
            .map_err(|e| usage(format!("DAG `{}`: {e}", dag.id())))?;
        if !notifiers.is_empty() {
            tracing::debug!("DAG `{}` notifies {notifiers:?}", dag.id());
            runner = runner.with_dag_notifications(dag.id(), notifiers);
        }
    }
    Ok(runner)
}

fn usage(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {}", escaped(e));
    ExitCode::from(2)
}

/// `e` as text for the terminal: control characters written out.
fn escaped(e: impl std::fmt::Display) -> String {
    crate::escape::control(&e.to_string()).into_owned()
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot write JSON: {e}"),
    }
}

/// A progress bar over `len` `unit`s ("tasks", "runs") when a person watches (text output to
/// a terminal), drawn around the console's log lines; `None` otherwise (pipes, CI, JSON).
fn progress_bar(global: &GlobalArgs, len: usize, unit: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if global.output != Output::Text || !std::io::stdout().is_terminal() {
        return None;
    }
    let template = format!("{{spinner}} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{elapsed}}  {{msg}}");
    let bar = indicatif::ProgressBar::new(len as u64).with_style(
        indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    crate::logging::set_progress_bar(Some(bar.clone()));
    Some(bar)
}

/// DAG `dag` and the index of its task `task`, or a usage error naming what exists.
fn find_task<'a>(dags: &'a [Dag], dag: &str, task: &str) -> Result<(&'a Dag, usize), ExitCode> {
    let d = find(dags, dag)?;
    match d.task_index(task) {
        Some(i) => Ok((d, i)),
        None => Err(usage(format!(
            "DAG `{dag}` has no task `{task}`; its tasks: {}",
            d.topological_ids().join(", ")
        ))),
    }
}

/// DAG `id`, or a usage error naming the DAGs there are.
fn find<'a>(dags: &'a [Dag], id: &str) -> Result<&'a Dag, ExitCode> {
    dags.iter().find(|d| d.id() == id).ok_or_else(|| {
        let known: Vec<&str> = dags.iter().map(Dag::id).collect();
        usage(format!("no DAG `{id}`; known DAGs: {}", known.join(", ")))
    })
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {}", escaped(e));
    ExitCode::FAILURE
}

async fn open_store(global: &GlobalArgs) -> Result<crate::store::Store, ExitCode> {
    crate::store::Store::open_home(&global.home())
        .await
        .map_err(fail)
}

/// The store, and `run` as a run id: `--run latest` is the run of `dag` that started last, as
/// every `--run` takes it (resolved through the store the command uses); any other id as given.
async fn open_run(
    global: &GlobalArgs,
    dag: &str,
    run: &str,
) -> Result<(crate::store::Store, String), ExitCode> {
    let store = open_store(global).await?;
    if run != "latest" {
        return Ok((store, run.to_owned()));
    }
    match store.last_started_run(dag).await {
        Ok(Some(r)) => Ok((store, r.run_id)),
        Ok(None) => {
            store.close().await;
            Err(fail(format_args!(
                "DAG `{dag}` has no recorded run (`--run latest`)"
            )))
        }
        Err(e) => Err(fail(e)),
    }
}

/// [`open_run`] for a command that reads no store otherwise (`logs` reads files).
async fn resolve_run(global: &GlobalArgs, dag: &str, run: String) -> Result<String, ExitCode> {
    if run != "latest" {
        return Ok(run);
    }
    let (store, run) = open_run(global, dag, &run).await?;
    store.close().await;
    Ok(run)
}

/// Runs one command over `dags`.
pub async fn execute(dags: &[Dag], command: Command, global: &GlobalArgs) -> ExitCode {
    match command {
        Command::Dags(c) => dags_command(dags, c, global).await,
        Command::Tasks(c) => tasks_command(dags, c, global).await,
        Command::Runs(RunsCommand::List { dag, state, limit }) => {
            runs::list(dags, global, dag, state, limit).await
        }
        Command::Runs(RunsCommand::Mark { dag, run, state }) => {
            runs::mark(global, dag, run, state).await
        }
        Command::Logs(mut args) => match resolve_run(global, &args.dag, args.run).await {
            Ok(run) => {
                args.run = run;
                logs::print_logs(global, &args, global.output == Output::Json).await
            }
            Err(code) => code,
        },
        Command::Scheduler => dags::scheduler(dags, global).await,
        Command::Airflow(AirflowCommand::Export {
            dags: ids,
            out,
            binary,
            force,
        }) => airflow::export(dags, global, ids, out, binary, force),
        #[cfg(feature = "web")]
        Command::Webserver(args) => web::webserver(dags, global, args).await,
        #[cfg(feature = "web")]
        Command::Standalone(args) => web::standalone(dags, global, args).await,
        #[cfg(feature = "web")]
        Command::Users(UsersCommand::Add { name, file }) => web::add_user(global, name, file),
        Command::Gantt { dag, run, out } => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => pictures::gantt(d, run.as_deref(), out.as_deref(), global).await,
        },
        Command::Durations { dag, last, out } => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => pictures::durations(d, last, out.as_deref(), global).await,
        },
        Command::Architecture { dags: only, out } => {
            let mut chosen = Vec::new();
            for id in &only {
                match find(dags, id) {
                    Ok(d) => chosen.push(d),
                    Err(code) => return code,
                }
            }
            if chosen.is_empty() {
                chosen = dags.iter().collect();
            }
            pictures::architecture(&chosen, out.as_deref(), global)
        }
        Command::Handin(args) => handin::command(dags, global, args).await,
        Command::Report { dag, run, out, pdf } => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => {
                pictures::report(d, run.as_deref(), out.as_deref(), pdf.as_deref(), global).await
            }
        },
        Command::Export {
            dag,
            run,
            out,
            force,
        } => export::command(global, dag, run, out, force).await,
    }
}

async fn dags_command(dags: &[Dag], command: DagsCommand, global: &GlobalArgs) -> ExitCode {
    match command {
        DagsCommand::List => dags::list(dags, global).await,
        DagsCommand::Show {
            dag,
            format,
            run,
            out,
        } => dags::show(dags, global, dag, format, run, out).await,
        DagsCommand::NextExecution { dag } => dags::next_execution(dags, global, dag).await,
        DagsCommand::Test { dag, run, wait } => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => test_dag(d, global, &run, wait).await.0,
        },
        DagsCommand::Backfill(args) => backfill::command(dags, global, args).await,
        DagsCommand::Trigger { dag, conf, params } => {
            dags::trigger(dags, global, dag, conf, params).await
        }
        DagsCommand::Pause { dag } => dags::set_paused(dags, global, &dag, true).await,
        DagsCommand::Unpause { dag } => dags::set_paused(dags, global, &dag, false).await,
    }
}

async fn tasks_command(dags: &[Dag], command: TasksCommand, global: &GlobalArgs) -> ExitCode {
    match command {
        TasksCommand::List { dag } => tasks::list(dags, global, dag).await,
        TasksCommand::Test {
            dag,
            task,
            map_index,
            run,
        } => tasks::test(dags, global, dag, task, map_index, run).await,
        TasksCommand::State {
            dag,
            run,
            task,
            map_index,
        } => tasks::state(global, dag, run, task, map_index).await,
        TasksCommand::Mark(args) => tasks::mark(dags, global, args).await,
        TasksCommand::Run(args) => tasks::run(dags, global, args).await,
        TasksCommand::Clear {
            dag,
            run,
            task,
            downstream,
        } => tasks::clear(dags, global, dag, run, task, downstream).await,
    }
}
