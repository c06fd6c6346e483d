//! `rocket-dag`: the CLI over every DAG of the `dags` crate (`cargo run -p dags -- --help`).
//!
//! `--offline` (anywhere before the subcommand's own arguments) serves a bundled real Launch
//! Library 2 snapshot, a recorded r/SpaceX sample (for `rocket_sources`) and generated images
//! from 127.0.0.1 for as long as this command runs,
//! and points every run the command starts at it — `dags test`, `tasks test`, backfills and
//! the scheduler's runs alike (as the example's `--offline` does):
//! `cargo run -p dags -- --offline dags test rocket_launches`.

use std::process::ExitCode;

use clap::Parser;
use rocket_dag::cli::Cli;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    let offline = match args.iter().position(|a| a == "--offline") {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    };
    if !offline {
        return rocket_dag::cli::main(dags::all());
    }
    let cli = Cli::parse_from(args);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let server = match dags::mock::MockServer::start(dags::mock::MockConfig::default()).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot start the offline server on 127.0.0.1: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut global = cli.global.clone();
        global.params.insert(
            dags::listing_2_10::LAUNCHES_URL_PARAM.to_owned(),
            server.launches_url().into(),
        );
        global.params.insert(
            dags::spacex::SPACEX_URL_PARAM.to_owned(),
            server.spacex_url().into(),
        );
        rocket_dag::cli::execute(&dags::all(), cli.command, &global).await
    })
}
