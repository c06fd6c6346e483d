//! `export`: a DAG's runs, logs and data in one archive, never over what it archives.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;

use super::*;

pub(super) async fn command(
    global: &GlobalArgs,
    dag: String,
    run: Option<String>,
    out: Option<PathBuf>,
    force: bool,
) -> ExitCode {
    let json = global.output == Output::Json;
    let home = global.home();
    let out = out.unwrap_or_else(|| {
        crate::home::exports_dir(&home).join(format!(
            "{dag}-{}.tar.gz",
            Utc::now().format("%Y%m%dT%H%M%SZ")
        ))
    });
    if crate::home::is_kept(&home, &out) {
        return usage(format_args!(
            "refusing to write the archive to {}: it is inside the home's database, data or \
             logs, which the archive is made from; choose a path outside them (default: \
             {})",
            out.display(),
            crate::home::exports_dir(&home).display()
        ));
    }
    if !force && out.exists() {
        return usage(format_args!(
            "{} exists: choose another --out, or add --force to replace it",
            out.display()
        ));
    }
    let (store, run) = match run {
        Some(run) => match open_run(global, &dag, &run).await {
            Ok((store, run)) => (store, Some(run)),
            Err(code) => return code,
        },
        None => match open_store(global).await {
            Ok(store) => (store, None),
            Err(code) => return code,
        },
    };
    match crate::export::export(&store, &home, &dag, run.as_deref(), &out).await {
        Err(e @ crate::export::ExportError::NoRun { .. }) => usage(e),
        Err(e) => fail(e),
        Ok(summary) if json => {
            print_json(&summary);
            ExitCode::SUCCESS
        }
        Ok(summary) => {
            println!(
                "wrote {}: {} run(s), {} file(s) of logs and data",
                summary.path.display(),
                summary.runs,
                summary.files
            );
            ExitCode::SUCCESS
        }
    }
}
