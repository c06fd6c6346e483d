//! `rocket-dag`: the CLI over every DAG of the `dags` crate (`cargo run -p dags -- --help`).
//!
//! `--offline` (before the subcommand) serves a bundled real Launch Library 2 snapshot and
//! generated images from 127.0.0.1 for this command, and points the runs it starts at it (as
//! the example's `--offline` does): `cargo run -p dags -- --offline dags test rocket_launches`.

use std::process::ExitCode;

use clap::Parser;
use rocket_dag::cli::{Cli, Command, DagsCommand, TasksCommand};

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
        let param = format!(
            "{}={}",
            dags::listing_2_10::LAUNCHES_URL_PARAM,
            server.launches_url()
        );
        let mut command = cli.command;
        match &mut command {
            Command::Dags(DagsCommand::Test { run, .. })
            | Command::Tasks(TasksCommand::Test { run, .. }) => run.params.push(param),
            Command::Dags(DagsCommand::Backfill { params, .. })
            | Command::Dags(DagsCommand::Trigger { params, .. }) => params.push(param),
            _ => eprintln!("note: --offline only changes the runs that dags test, tasks test, dags backfill and dags trigger start"),
        }
        rocket_dag::cli::execute(&dags::all(), command, &cli.global).await
    })
}
