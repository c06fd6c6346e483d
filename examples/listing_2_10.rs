//! The book's Rocket DAG. With no subcommand it runs once now, like
//! `airflow dags test listing_2_10 <today>`; any other CLI subcommand works too.
//!
//! ```text
//! cargo run --example listing_2_10                       # against the live Launch Library 2 API
//! cargo run --example listing_2_10 -- --offline          # against a bundled snapshot on 127.0.0.1
//! cargo run --example listing_2_10 -- --launches-url http://… dags test listing_2_10 2024-01-01
//! cargo run --example listing_2_10 -- dags show listing_2_10
//! ```

use std::process::ExitCode;

use clap::Parser;
use dags::listing_2_10::{
    DEFAULT_LAUNCHES_URL, LAUNCHES_URL_ENV, LAUNCHES_URL_PARAM, listing_2_10,
};
use dags::mock::{MockConfig, MockServer};
use rocket_dag::cli::{Command, DagsCommand, GlobalArgs, RunArgs};

/// Run the Rocket DAG (listing 2.10) of "Data Pipelines with Apache Airflow".
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = false)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    /// Launch Library 2 "upcoming" URL to fetch
    #[arg(long, global = true, env = LAUNCHES_URL_ENV, default_value = DEFAULT_LAUNCHES_URL, value_name = "URL")]
    launches_url: String,
    /// Serve a bundled real LL2 snapshot and generated images from 127.0.0.1 instead of the
    /// internet (the whole HTTP path still runs); overrides --launches-url
    #[arg(long, global = true)]
    offline: bool,
    /// Without a subcommand: `dags test listing_2_10` with these arguments
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let server = if cli.offline {
        match MockServer::start(MockConfig::default()).await {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: cannot start the offline server on 127.0.0.1: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let url = match &server {
        Some(s) => s.launches_url(),
        None => cli.launches_url.clone(),
    };
    // A setting of this process: every run it starts fetches from there, whichever subcommand
    // starts it (`dags test`, `tasks test`, `dags backfill`, the `scheduler`).
    let mut global = cli.global.clone();
    global
        .params
        .insert(LAUNCHES_URL_PARAM.to_owned(), url.into());
    let command = cli.command.unwrap_or_else(|| {
        Command::Dags(DagsCommand::Test {
            dag: "listing_2_10".into(),
            run: cli.run.clone(),
            wait: false,
        })
    });
    let code = rocket_dag::cli::execute(&[listing_2_10()], command, &global).await;
    if code != ExitCode::SUCCESS && code != ExitCode::from(2) {
        eprintln!(
            "logs: {}",
            global
                .home()
                .join("logs")
                .join("dag_id=listing_2_10")
                .display()
        );
    }
    code
}
