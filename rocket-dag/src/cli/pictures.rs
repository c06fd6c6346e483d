//! The commands that draw: `dags show --format svg|drawio`, `gantt`, `durations`,
//! `architecture`, `report`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{GlobalArgs, Output, ShowFormat, fail, open_store, print_json, usage};
use crate::dag::Dag;
use crate::store::Store;
use crate::viz::{self, RunHistory, VizError};

/// `--run latest` (or no `--run`) means the run that started last.
fn run_arg(run: Option<&str>) -> Option<&str> {
    run.filter(|r| *r != "latest")
}

/// Which of `allowed` extensions `out` has (lower case), or a usage error naming them.
fn extension(out: &Path, allowed: &[&'static str]) -> Result<&'static str, ExitCode> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let ext = if ext == "htm" { "html".to_owned() } else { ext };
    allowed.iter().copied().find(|a| *a == ext).ok_or_else(|| {
        let list: Vec<String> = allowed.iter().map(|a| format!(".{a}")).collect();
        usage(format!(
            "cannot tell the format of {}: give a file name ending in {}",
            out.display(),
            list.join(" or ")
        ))
    })
}

/// `--out`, or where an output goes by default: `<home>/exports/<name>`.
fn out_or_default(out: Option<&Path>, global: &GlobalArgs, name: &str) -> PathBuf {
    out.map_or_else(
        || crate::home::exports_dir(&global.home()).join(name),
        Path::to_path_buf,
    )
}

/// Writes `text` to `out` (atomically); says so unless `quiet`.
fn write_file(out: &Path, text: &str) -> Result<(), ExitCode> {
    crate::fs::write_atomically(out, text.as_bytes())
        .map_err(|e| fail(format_args!("cannot write {}: {e}", out.display())))
}

/// Says what was written: one line each, or one JSON document (`--output json`).
pub(super) fn wrote(files: &[(&Path, &str)], global: &GlobalArgs) -> ExitCode {
    if global.output == Output::Json {
        let list: Vec<_> = files
            .iter()
            .map(|(path, what)| serde_json::json!({ "wrote": path, "what": what }))
            .collect();
        match list.as_slice() {
            [one] => print_json(one),
            _ => print_json(&list),
        }
    } else {
        for (path, what) in files {
            println!("wrote {} ({what})", path.display());
        }
    }
    ExitCode::SUCCESS
}

/// Writes `text` to `out` (atomically) and says so.
fn write(out: &Path, text: &str, what: &str, global: &GlobalArgs) -> ExitCode {
    match write_file(out, text) {
        Err(code) => code,
        Ok(()) => wrote(&[(out, what)], global),
    }
}

async fn history(
    dag: &Dag,
    run: Option<&str>,
    global: &GlobalArgs,
) -> Result<(Store, RunHistory), ExitCode> {
    let store = open_store(global).await?;
    match RunHistory::load(&store, dag.id(), run_arg(run)).await {
        Ok(h) => Ok((store, h)),
        Err(e @ VizError::NoRun { .. }) => {
            Err(usage(format_args!("{e} (see `runs list {}`)", dag.id())))
        }
        Err(e) => Err(fail(e)),
    }
}

/// `dags show DAG --format mermaid|dot|svg|drawio [--run RUN] [--out FILE]`.
pub(super) async fn show(
    dag: &Dag,
    format: ShowFormat,
    run: Option<&str>,
    out: Option<&Path>,
    global: &GlobalArgs,
) -> ExitCode {
    if run.is_some() && format != ShowFormat::Svg {
        return usage("--run goes with --format svg (tasks coloured by their state in the run)");
    }
    let text = match format {
        ShowFormat::Mermaid => viz::mermaid(dag),
        ShowFormat::Dot => viz::dot(dag),
        ShowFormat::Drawio => viz::lanes::LaneDiagram::from_dag(dag).to_drawio(),
        ShowFormat::Svg if run.is_some() => match history(dag, run, global).await {
            Ok((_, h)) => viz::graph::dag_svg(dag, Some(&h)),
            Err(code) => return code,
        },
        ShowFormat::Svg => viz::graph::dag_svg(dag, None),
        ShowFormat::Text => unreachable!("text is printed by `dags show` itself"),
    };
    let what = match format {
        ShowFormat::Drawio => "the DAG in Source / Storage / Business swimlanes, draw.io",
        ShowFormat::Svg if run.is_some() => "graph coloured by the run's task states",
        _ => "graph",
    };
    match out {
        Some(out) => write(out, &text, what, global),
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
    }
}

/// `gantt DAG [--run RUN] --out FILE.svg|FILE.html`.
pub(super) async fn gantt(
    dag: &Dag,
    run: Option<&str>,
    out: Option<&Path>,
    global: &GlobalArgs,
) -> ExitCode {
    let ext = match out.map(|o| extension(o, &["svg", "html"])) {
        None => "html",
        Some(Ok(e)) => e,
        Some(Err(code)) => return code,
    };
    let h = match history(dag, run, global).await {
        Ok((_, h)) => h,
        Err(code) => return code,
    };
    let out = &out_or_default(
        out,
        global,
        &format!("{}/gantt-{}.html", dag.id(), h.run.run_id),
    );
    let text = if ext == "svg" {
        viz::gantt::gantt_svg(&h, Some(dag))
    } else {
        viz::gantt::gantt_html(&h, Some(dag))
    };
    let what = format!("Gantt chart of run {}", h.run.run_id);
    write(out, &text, &what, global)
}

/// `durations DAG [--last N] --out FILE.svg|FILE.html`.
pub(super) async fn durations(
    dag: &Dag,
    last: u32,
    out: Option<&Path>,
    global: &GlobalArgs,
) -> ExitCode {
    let out = &out_or_default(out, global, &format!("{}/durations.html", dag.id()));
    let ext = match extension(out, &["svg", "html"]) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let runs = match store.list_runs(Some(dag.id()), None, last.max(1)).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if runs.is_empty() {
        return usage(format_args!("DAG `{}` has no recorded run", dag.id()));
    }
    let mut histories = Vec::with_capacity(runs.len());
    for run in runs {
        match store.task_instances(dag.id(), &run.run_id).await {
            Ok(tries) => histories.push(RunHistory { run, tries }),
            Err(e) => return fail(e),
        }
    }
    let text = if ext == "svg" {
        viz::gantt::durations_svg(dag.id(), &histories)
    } else {
        viz::gantt::durations_html(dag.id(), &histories)
    };
    let what = format!("task durations over {} run(s)", histories.len());
    write(out, &text, &what, global)
}

/// `architecture [DAG…] --out FILE.drawio|FILE.svg`.
pub(super) fn architecture(dags: &[&Dag], out: Option<&Path>, global: &GlobalArgs) -> ExitCode {
    let name = match dags {
        [one] => format!("{}/architecture.drawio", one.id()),
        _ => "architecture.drawio".to_owned(),
    };
    let out = &out_or_default(out, global, &name);
    let ext = match extension(out, &["drawio", "svg"]) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let title = match dags {
        [one] => format!("{} — architecture", one.id()),
        _ => "Architecture".to_owned(),
    };
    let diagram = viz::architecture::architecture(&title, dags);
    if diagram.nodes.is_empty() {
        return usage(
            "no task of these DAGs declares what it reads or writes: add `reads = [ASSET]` / \
             `writes = [ASSET]` to their #[task] attributes",
        );
    }
    let text = if ext == "svg" {
        diagram.to_svg()
    } else {
        diagram.to_drawio()
    };
    let what = format!(
        "{} assets and tasks, {} edges",
        diagram.nodes.len(),
        diagram.edges.len()
    );
    write(out, &text, &what, global)
}

/// `report DAG [--run RUN] --out FILE.html [--pdf FILE.pdf]`.
pub(super) async fn report(
    dag: &Dag,
    run: Option<&str>,
    out: Option<&Path>,
    pdf: Option<&Path>,
    global: &GlobalArgs,
) -> ExitCode {
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let report = match viz::report::build(dag, &store, &global.home(), run_arg(run)).await {
        Ok(r) => r,
        Err(e @ VizError::NoRun { .. }) => {
            return usage(format_args!("{e} (see `runs list {}`)", dag.id()));
        }
        Err(e) => return fail(e),
    };
    let out = &out_or_default(
        out,
        global,
        &format!("{}/report-{}.html", dag.id(), report.history.run.run_id),
    );
    if let Err(code) = write_file(out, &report.html()) {
        return code;
    }
    let Some(pdf) = pdf else {
        return wrote(&[(out, "run report")], global);
    };
    if viz::chromium::find().is_none() {
        return fail(viz::chromium::PdfError::NoChromium {
            html: out.to_path_buf(),
        });
    }
    // Chromium prints a copy with every collapsible section open (a temporary file next to
    // the report, so its relative position is the same).
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let print = match tempfile::Builder::new()
        .prefix(".report-print-")
        .suffix(".html")
        .tempfile_in(dir)
        .and_then(|mut f| {
            std::io::Write::write_all(&mut f, report.print_html().as_bytes())?;
            Ok(f.into_temp_path())
        }) {
        Ok(p) => p,
        Err(e) => return fail(format_args!("cannot write the page to print: {e}")),
    };
    // The browser is waited for on a blocking thread (up to its time limit).
    let (html, target) = (print.to_path_buf(), pdf.to_path_buf());
    let printed =
        match tokio::task::spawn_blocking(move || viz::chromium::print_pdf(&html, &target)).await {
            Ok(r) => r,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => return fail("printing the PDF was cancelled"),
            },
        };
    drop(print);
    match printed {
        Ok(()) => wrote(&[(out, "run report"), (pdf, "run report, PDF")], global),
        Err(e) => fail(e),
    }
}
