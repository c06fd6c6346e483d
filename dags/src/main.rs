//! `rocket-dag`: the CLI over every DAG of the `dags` crate (`cargo run -p dags -- --help`).

fn main() -> std::process::ExitCode {
    rocket_dag::cli::main(dags::all())
}
