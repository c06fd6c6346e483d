//! The book's Rocket DAG, run once now — like `airflow dags test listing_2_10 <today>`.
//!
//! ```text
//! cargo run --example listing_2_10                  # against the live Launch Library 2 API
//! cargo run --example listing_2_10 -- --offline     # against a bundled snapshot on 127.0.0.1
//! cargo run --example listing_2_10 -- --launches-url http://…  2024-01-01
//! ```

use std::process::ExitCode;

use clap::Parser;
use dags::listing_2_10::{
    DEFAULT_LAUNCHES_URL, LAUNCHES_URL_ENV, LAUNCHES_URL_PARAM, listing_2_10,
};
use dags::mock::{MockConfig, MockServer};
use rocket_dag::cli::RunArgs;

/// Run the Rocket DAG (listing 2.10) once.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    /// Launch Library 2 "upcoming" URL to fetch
    #[arg(long, env = LAUNCHES_URL_ENV, default_value = DEFAULT_LAUNCHES_URL, value_name = "URL")]
    launches_url: String,
    /// Serve a bundled real LL2 snapshot and generated images from 127.0.0.1 instead of the
    /// internet (the whole HTTP path still runs); overrides --launches-url
    #[arg(long)]
    offline: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut cli = Cli::parse();
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
    cli.run.params.push(format!("{LAUNCHES_URL_PARAM}={url}"));
    let (code, report) = rocket_dag::cli::test_dag(&listing_2_10(), &cli.run).await;
    if let Some(r) = report {
        println!(
            "logs: {}",
            cli.run
                .home()
                .join("logs")
                .join("dag_id=listing_2_10")
                .display()
        );
        if let Some(t) = r
            .tasks
            .iter()
            .find(|t| t.state != rocket_dag::TaskState::Success)
        {
            eprintln!(
                "error: DAG listing_2_10 failed at task `{}`: {}",
                t.task_id,
                t.reason.as_deref().unwrap_or(t.state.as_str())
            );
        }
    }
    code
}
