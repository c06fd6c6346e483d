//! `logs`: an attempt's log, or `--follow` it while it runs.

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::*;

pub(super) async fn print_logs(global: &GlobalArgs, args: &LogsArgs, json: bool) -> ExitCode {
    let home = global.home();
    let dir = match crate::home::task_logs(&home, &args.dag, &args.run, &args.task, args.map_index)
    {
        Ok(d) => d,
        Err(e) => return usage(e),
    };
    let attempt = match args.attempt {
        Some(n) => n,
        None => {
            let latest = std::fs::read_dir(&dir).ok().and_then(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| {
                        let name = e.file_name().into_string().ok()?;
                        name.strip_prefix("attempt=")?
                            .strip_suffix(".log")?
                            .parse::<u32>()
                            .ok()
                    })
                    .max()
            });
            match latest {
                Some(n) => n,
                None if args.follow => 1,
                None => return usage(format!("no logs in {}", dir.display())),
            }
        }
    };
    let path = dir.join(format!("attempt={attempt}.log"));
    // The ids cannot leave the home; a symbolic link inside it could.
    if let (Ok(real), Ok(base)) = (path.canonicalize(), home.canonicalize())
        && !real.starts_with(&base)
    {
        return usage(format_args!(
            "{} leads outside the home ({}): not reading it",
            path.display(),
            real.display()
        ));
    }
    if args.follow {
        return follow_log(global, args, attempt, &path).await;
    }
    match std::fs::read_to_string(&path) {
        Ok(text) if json => {
            print_json(&serde_json::json!({"path": path, "attempt": attempt, "log": text}));
            ExitCode::SUCCESS
        }
        Ok(text) => {
            // Lines are escaped when written; a file written some other way is escaped here.
            print!("{}", escape_lines(&text));
            ExitCode::SUCCESS
        }
        Err(e) => usage(format!("cannot read {}: {e}", path.display())),
    }
}

/// `text` with each line's control characters written out, its line breaks kept.
pub(super) fn escape_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = line
            .strip_suffix('\n')
            .map_or((line, ""), |body| (body, "\n"));
        out.push_str(&crate::escape::control(body));
        out.push_str(newline);
    }
    out
}

/// Whether the process running try `t` is gone: its pid no longer exists on this host, or the
/// run's owner stopped its heartbeat (or another process owns the run now).
pub(super) fn attempt_owner_gone(
    t: &crate::store::TaskInstanceRecord,
    run_owner: Option<(Option<crate::store::RunOwner>, Option<DateTime<Utc>>)>,
) -> bool {
    let ran_by = t.pid.map(|pid| crate::store::RunOwner {
        hostname: t.hostname.clone(),
        pid,
    });
    if ran_by.as_ref().and_then(crate::store::RunOwner::alive) == Some(false) {
        return true;
    }
    match run_owner {
        Some((owner, heartbeat)) => {
            owner != ran_by || crate::store::owner_gone(owner.as_ref(), heartbeat, Utc::now())
        }
        None => true,
    }
}

/// `logs --follow`: prints the log as it grows until the store says the attempt has ended
/// (and everything written before that is printed), as `tail -f` that knows when to stop.
pub(super) async fn follow_log(
    global: &GlobalArgs,
    args: &LogsArgs,
    attempt: u32,
    path: &Path,
) -> ExitCode {
    use std::io::{Read, Seek, Write};
    const POLL: std::time::Duration = std::time::Duration::from_millis(200);
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let map_index = args
        .map_index
        .map_or(crate::store::NOT_MAPPED, |m| m as i32);
    let mut offset = 0u64;
    let mut waiting_said = false;
    let mut ended_seen = false;
    loop {
        // Read the state first: once the attempt has ended, a last read one poll later gets
        // the rest (the log writer thread may still be writing the attempt's last lines). An
        // attempt still `running` whose process is gone (killed) has ended too.
        let ended = ended_seen
            || match store.task_instances(&args.dag, &args.run).await {
                Ok(tis) => match tis.iter().find(|t| {
                    t.task_id == args.task && t.map_index == map_index && t.try_number == attempt
                }) {
                    Some(t) if t.state != crate::store::TaskStateRecord::Running => true,
                    Some(t) => {
                        let owner = store.run_owner(&args.dag, &args.run).await.ok().flatten();
                        let gone = attempt_owner_gone(t, owner);
                        if gone {
                            eprintln!(
                                "the process that ran this attempt (pid {} on host {}) is gone: \
                                 the attempt will not write more",
                                t.pid.map_or_else(|| "?".to_owned(), |p| p.to_string()),
                                t.hostname
                            );
                        }
                        gone
                    }
                    None => false,
                },
                Err(e) => return fail(e),
            };
        match std::fs::File::open(path) {
            Ok(mut f) => {
                let mut buf = Vec::new();
                if f.seek(std::io::SeekFrom::Start(offset)).is_ok()
                    && f.read_to_end(&mut buf).is_ok()
                {
                    // Whole lines only (escaped as `logs` prints them), unless this is the
                    // last read.
                    let last = ended && ended_seen;
                    let take = match buf.iter().rposition(|&b| b == b'\n') {
                        _ if last => buf.len(),
                        Some(i) => i + 1,
                        None => 0,
                    };
                    offset += take as u64;
                    let text = escape_lines(&String::from_utf8_lossy(&buf[..take]));
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
                }
            }
            Err(_) if !waiting_said => {
                eprintln!("waiting for {} …", path.display());
                waiting_said = true;
            }
            Err(_) => {}
        }
        if ended && ended_seen {
            return ExitCode::SUCCESS;
        }
        ended_seen = ended;
        tokio::time::sleep(POLL).await;
    }
}
