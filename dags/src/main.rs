//! `rocket-dag`: the CLI over every DAG of the `dags` crate (`cargo run -p dags -- --help`).
//!
//! `--offline` (anywhere before the subcommand's own arguments) serves a bundled real Launch
//! Library 2 snapshot, a recorded r/SpaceX sample (for `rocket_sources`) and generated images
//! from 127.0.0.1 for as long as this command runs,
//! and points every run the command starts at it — `dags test`, `tasks test`, backfills and
//! the scheduler's runs alike (as the example's `--offline` does):
//! `cargo run -p dags -- --offline dags test rocket_launches`.
//!
//! `--offline-revision N` (implies `--offline`) serves the launch list as the API might show
//! it N revisions later — some launches gone, some moved — to see `rocket_incremental` notice.
//!
//! The server listens on `127.0.0.1:8754` (`ROCKET_OFFLINE_PORT` to change it), so the picture
//! URLs are the same in every offline command and a later run finds the pictures an earlier one
//! stored; when that port is taken, on any free port.

use std::process::ExitCode;

use clap::Parser;
use rocket_dag::cli::Cli;

/// The offline server's port, the same in every command so picture URLs stay the same.
const OFFLINE_PORT: u16 = 8754;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    // `--offline-revision N`: offline, the launch list N revisions later (see `dags::mock`).
    let revision = match args.iter().position(|a| a == "--offline-revision") {
        Some(i) if i + 1 < args.len() => {
            let value = args.remove(i + 1);
            args.remove(i);
            match value.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    eprintln!("error: --offline-revision takes a number, not `{value}`");
                    return ExitCode::from(2);
                }
            }
        }
        Some(_) => {
            eprintln!("error: --offline-revision takes a number");
            return ExitCode::from(2);
        }
        None => None,
    };
    let offline = match args.iter().position(|a| a == "--offline") {
        Some(i) => {
            args.remove(i);
            true
        }
        None => revision.is_some(),
    };
    let cli = Cli::parse_from(args);
    let mut global = cli.global.clone();
    global.guides = dags::course_guides();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        // Kept until the command ends: every run it starts fetches from it.
        let _server = if offline {
            match start_offline_server().await {
                Ok(server) => {
                    let url = match revision {
                        Some(n) => format!("{}?revision={n}", server.launches_url()),
                        None => server.launches_url(),
                    };
                    global.params.insert(
                        dags::listing_2_10::LAUNCHES_URL_PARAM.to_owned(),
                        url.into(),
                    );
                    global.params.insert(
                        dags::spacex::SPACEX_URL_PARAM.to_owned(),
                        server.spacex_url().into(),
                    );
                    Some(server)
                }
                Err(e) => {
                    eprintln!("error: cannot start the offline server on 127.0.0.1: {e}");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            None
        };
        rocket_dag::cli::execute(&dags::all(), cli.command, &global).await
    })
}

/// The bundled snapshot on [`OFFLINE_PORT`] (or `ROCKET_OFFLINE_PORT`), else on a free port.
async fn start_offline_server() -> std::io::Result<dags::mock::MockServer> {
    let port = std::env::var("ROCKET_OFFLINE_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(OFFLINE_PORT);
    let config = dags::mock::MockConfig::default();
    match dags::mock::MockServer::start_on(config.clone(), port).await {
        Ok(s) => Ok(s),
        Err(e) => {
            eprintln!(
                "note: 127.0.0.1:{port} is taken ({e}); serving on another port, so pictures stored by earlier offline runs have other URLs"
            );
            dags::mock::MockServer::start(config).await
        }
    }
}
