//! `handin`: the course hand-in in one command — the PDF named after the student, the HTML
//! beside it, the solution's and each DAG's architecture as draw.io files, and each DAG's
//! latest run as an export archive.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::Utc;

use super::*;
use crate::viz::handin::{
    Answer, GuideEntry, Handin, Lang, OUTPUT_LIMIT, Output as Found, SVG_LIMIT, guide_entries,
    variant_entries,
};
use crate::viz::report::{Report, ResultContent};
use crate::viz::{self, VizError};

/// The characters a file name made from the author's name may not hold (path separators and
/// what Windows refuses, so the PDF can be copied anywhere).
const NOT_IN_NAME: &[char] = &['/', '\\', ':', '*', '?', '"', '<', '>', '|'];

/// `Иванов И.И.` → `Иванов И.И.-05`: the course's file name, or why the name cannot be one.
/// This is the one place the author's name becomes a path.
pub(crate) fn file_stem(author: &str) -> Result<String, String> {
    let name = author.trim();
    if name.is_empty() {
        return Err("--author is empty: give your full name, e.g. --author \"Иванов И.И.\"".into());
    }
    if name.chars().count() > 100 {
        return Err("--author is longer than 100 characters".into());
    }
    if name.starts_with('.') {
        return Err("--author cannot start with a dot".into());
    }
    if let Some(c) = name
        .chars()
        .find(|&c| c.is_control() || invisible(c) || NOT_IN_NAME.contains(&c))
    {
        return Err(format!(
            "--author cannot contain {:?}: it names the PDF file",
            c
        ));
    }
    Ok(format!("{name}-05"))
}

/// Characters that change how a name displays without showing (bidirectional overrides,
/// zero-width spaces and joiners, the soft hyphen, the byte-order mark).
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}

pub(super) async fn command(dags: &[Dag], global: &GlobalArgs, args: HandinArgs) -> ExitCode {
    let stem = match file_stem(&args.author) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let lang = match args.lang {
        HandinLang::Ru => Lang::Ru,
        HandinLang::En => Lang::En,
    };
    let entries = global
        .guides
        .iter()
        .find(|g| g.lang == lang)
        .or(global.guides.first())
        .map(|g| guide_entries(&g.markdown))
        .unwrap_or_default();
    let tasks = match args.variant {
        None => Vec::new(),
        Some(n) => {
            let tasks = variant_entries(&entries, n);
            if tasks.is_empty() {
                return usage(format_args!(
                    "variant {n} is not in this binary's course guide{}",
                    if entries.is_empty() {
                        " (it has none)"
                    } else {
                        ""
                    }
                ));
            }
            tasks
        }
    };
    let explicit = !args.dags.is_empty();
    let wanted: Vec<String> = if explicit {
        args.dags.clone()
    } else {
        named_dags(dags, &tasks)
    };
    let mut chosen = Vec::new();
    for id in &wanted {
        match find(dags, id) {
            Ok(d) => chosen.push(d),
            Err(code) => return code,
        }
    }
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let home = global.home();
    let mut reports: Vec<(&Dag, Report)> = Vec::new();
    for dag in chosen {
        match viz::report::build(dag, &store, &home, None).await {
            Ok(r) => reports.push((dag, r)),
            // The DAGs the variant names but the student did not run are left out.
            Err(VizError::NoRun { .. }) if !explicit => {}
            Err(e @ VizError::NoRun { .. }) => {
                return usage(format_args!("{e}: run `dags test {}` first", dag.id()));
            }
            Err(e) => return fail(e),
        }
    }
    if reports.is_empty() {
        let first = dags.first().map_or("DAG", Dag::id);
        return usage(format_args!(
            "no recorded run of {}: run `dags test {first}` (and the variant's commands) first",
            wanted.join(", ")
        ));
    }
    let answers = tasks
        .into_iter()
        .map(|entry| {
            let outputs = outputs_of(&entry, &reports, &home);
            Answer { entry, outputs }
        })
        .collect();
    let used: Vec<&Dag> = reports.iter().map(|(d, _)| *d).collect();
    let architecture = viz::architecture::architecture("Architecture of the solution", &used);
    let handin = Handin {
        author: args.author.trim().to_owned(),
        variant: args.variant,
        lang,
        statement: used[0].options().description.clone(),
        answers,
        architecture_svg: architecture.to_svg(),
        reports: reports.iter().map(|(_, r)| r.clone()).collect(),
        generated_at: Utc::now(),
    };

    let out = &args.out;
    if let Err(e) = std::fs::create_dir_all(out) {
        return fail(format_args!("cannot create {}: {e}", out.display()));
    }
    let html = out.join(format!("{stem}.html"));
    let pdf = out.join(format!("{stem}.pdf"));
    let solution = out.join("architecture.drawio");
    let mut written: Vec<(PathBuf, String)> = Vec::new();
    let mut files: Vec<(PathBuf, String)> = vec![
        (html.clone(), handin.html()),
        (solution, architecture.to_drawio()),
    ];
    for d in &used {
        files.push((
            out.join(format!("dag-{}.drawio", d.id())),
            viz::lanes::LaneDiagram::from_dag(d).to_drawio(),
        ));
    }
    for (path, text) in files {
        if let Err(e) = crate::fs::write_atomically(&path, text.as_bytes()) {
            return fail(format_args!("cannot write {}: {e}", path.display()));
        }
        written.push((path, "hand-in".into()));
    }
    for (dag, report) in &reports {
        let archive = out.join(format!("{}-export.tar.gz", dag.id()));
        let run = report.history.run.run_id.as_str();
        if let Err(e) = crate::export::export(&store, &home, dag.id(), Some(run), &archive).await {
            return fail(e);
        }
        written.push((archive, format!("run {run}, logs and data")));
    }
    // A PDF of an earlier hand-in must not stay beside this one's files if printing fails.
    if let Err(e) = std::fs::remove_file(&pdf)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return fail(format_args!("cannot replace {}: {e}", pdf.display()));
    }
    // Chromium is waited for on a blocking thread (up to its time limit).
    let (page, target) = (html.clone(), pdf.clone());
    let printed =
        match tokio::task::spawn_blocking(move || viz::chromium::print_pdf(&page, &target)).await {
            Ok(r) => r,
            Err(_) => return fail("printing the PDF was cancelled"),
        };
    if let Err(e) = printed {
        list(&written, global);
        return fail(e);
    }
    written.insert(0, (pdf, "the hand-in, PDF".into()));
    list(&written, global)
}

/// Says what was written, as the other commands that write files do.
fn list(written: &[(PathBuf, String)], global: &GlobalArgs) -> ExitCode {
    let files: Vec<(&Path, &str)> = written
        .iter()
        .map(|(p, what)| (p.as_path(), what.as_str()))
        .collect();
    super::pictures::wrote(&files, global)
}

/// The DAGs the tasks' commands name, in order, after the binary's first DAG (the book's).
fn named_dags(dags: &[Dag], tasks: &[GuideEntry]) -> Vec<String> {
    let mut out: Vec<String> = dags
        .first()
        .map(|d| d.id().to_owned())
        .into_iter()
        .collect();
    for cmd in tasks.iter().flat_map(|t| &t.commands) {
        for word in cmd.split_whitespace() {
            if dags.iter().any(|d| d.id() == word) && !out.iter().any(|o| o == word) {
                out.push(word.to_owned());
            }
        }
    }
    out
}

/// The files the runs wrote that `entry` names, from the report folders of the DAGs its
/// commands name (of every DAG when it names none).
fn outputs_of(entry: &GuideEntry, reports: &[(&Dag, Report)], home: &Path) -> Vec<Found> {
    let names = entry.output_names();
    let named = |id: &str| {
        entry
            .commands
            .iter()
            .any(|c| c.split_whitespace().any(|w| w == id))
    };
    let any_named = reports.iter().any(|(d, _)| named(d.id()));
    let mut found = Vec::new();
    for (dag, report) in reports {
        if any_named && !named(dag.id()) {
            continue;
        }
        for asset in &report.files {
            let candidates: Vec<String> = match &asset.content {
                ResultContent::Folder(entries) => entries
                    .iter()
                    .filter(|e| !e.is_dir && names.contains(&e.name))
                    .map(|e| format!("{}/{}", asset.location.trim_end_matches('/'), e.name))
                    .collect(),
                ResultContent::File(_) => {
                    let base = asset.location.rsplit('/').next().unwrap_or("");
                    if names.iter().any(|n| n == base) {
                        vec![asset.location.clone()]
                    } else {
                        Vec::new()
                    }
                }
                _ => Vec::new(),
            };
            for rel in candidates {
                let rel = format!("data/{}/{rel}", dag.id());
                let limit = if rel.ends_with(".svg") {
                    SVG_LIMIT
                } else {
                    OUTPUT_LIMIT
                };
                if let Some((text, cut)) = read_head(&home.join(&rel), limit) {
                    found.push(Found {
                        dag_id: dag.id().to_owned(),
                        path: rel,
                        text,
                        cut,
                    });
                }
            }
        }
    }
    // In the order the entry names them.
    found.sort_by_key(|f| {
        let base = f.path.rsplit('/').next().unwrap_or("").to_owned();
        names.iter().position(|n| *n == base)
    });
    found
}

/// The first `limit` bytes of a file as text, and how many bytes were left out.
fn read_head(path: &Path, limit: usize) -> Option<(String, u64)> {
    let file = std::fs::File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    let mut bytes = Vec::new();
    file.take(limit as u64).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Some((text, size.saturating_sub(bytes.len() as u64)))
}

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn the_author_names_the_file_or_is_refused() {
        assert_eq!(file_stem(" Иванов И.И. ").unwrap(), "Иванов И.И.-05");
        assert_eq!(file_stem("Jane Doe").unwrap(), "Jane Doe-05");
        for bad in [
            "",
            "  ",
            "../x",
            "a/b",
            "a\\b",
            ".hidden",
            "a\nb",
            "a\u{1b}[31m",
            "c:d",
            "Иванов\u{202E}fdp.exe",
            "a\u{200B}b",
        ] {
            assert!(file_stem(bad).is_err(), "{bad:?}");
        }
        assert!(file_stem(&"я".repeat(101)).is_err());
    }
}
