//! Shell tasks (Airflow's `BashOperator`): a command template with context values substituted
//! safely, output streamed into the attempt log.
//!
//! Placeholders `{{ ds }}`, `{{ ds_nodash }}`, `{{ ts }}`, `{{ logical_date }}`,
//! `{{ data_interval_start }}`, `{{ data_interval_end }}`, `{{ run_id }}`, `{{ dag_id }}`,
//! `{{ task_id }}`, `{{ try_number }}` and `{{ params.NAME }}` are never pasted into the
//! script: each value goes into an environment variable and the placeholder becomes a quoted
//! reference to it (`"${ROCKET_DAG_TPL_0}"`), so a value such as `'; rm -rf ~'` stays data.
//! A placeholder inside single quotes is an error, since no expansion happens there.
//!
//! The value stays data wherever the shell expands a variable once — in plain words and inside
//! double quotes. Do not hand it to something that evaluates its text again (`eval`, `bash -c`,
//! arithmetic `$(( … ))`, `[[ … -eq … ]]`): that is code you write, and no quoting can help there.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::context::TaskContext;
use crate::error::{ResultExt, TaskError};
use crate::process::GroupGuard;

/// A script ready to run: the text for `bash -c` and the environment it reads values from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// The script with placeholders replaced by variable references.
    pub script: String,
    /// `(name, value)` pairs to set in the environment.
    pub env: Vec<(String, String)>,
}

/// Template variables and their values for this context.
fn lookup(ctx: &TaskContext, name: &str) -> Option<String> {
    Some(match name {
        "ds" => ctx.ds(),
        "ds_nodash" => ctx.ds_nodash(),
        "ts" => ctx.ts(),
        "logical_date" => ctx.logical_date().to_rfc3339(),
        "data_interval_start" => ctx.data_interval_start().to_rfc3339(),
        "data_interval_end" => ctx.data_interval_end().to_rfc3339(),
        "run_id" => ctx.run_id().to_owned(),
        "dag_id" => ctx.dag_id().to_owned(),
        "task_id" => ctx.task_id().to_owned(),
        "try_number" => ctx.try_number().to_string(),
        _ => {
            let key = name.strip_prefix("params.")?;
            match ctx.params().get(key)? {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        }
    })
}

const VARIABLES: &str = "ds, ds_nodash, ts, logical_date, data_interval_start, data_interval_end, run_id, dag_id, task_id, try_number, params.NAME";

/// Replaces the placeholders of `template` with references to environment variables.
pub(crate) fn render(template: &str, ctx: &TaskContext) -> Result<Rendered, TaskError> {
    #[derive(PartialEq, Clone, Copy)]
    enum Quote {
        None,
        Single,
        Double,
    }
    let mut script = String::with_capacity(template.len());
    let mut env = Vec::new();
    let mut quote = Quote::None;
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{{") {
            let end = after
                .find("}}")
                .ok_or_else(|| TaskError::fail_now("unclosed `{{` in shell command template"))?;
            let name = after[..end].trim();
            let value = lookup(ctx, name).ok_or_else(|| {
                TaskError::fail_now(format!(
                    "unknown template variable `{name}` in shell command; expected one of {VARIABLES}"
                ))
            })?;
            let var = format!("ROCKET_DAG_TPL_{}", env.len());
            match quote {
                Quote::None => script.push_str(&format!("\"${{{var}}}\"")),
                Quote::Double => script.push_str(&format!("${{{var}}}")),
                Quote::Single => {
                    return Err(TaskError::fail_now(format!(
                        "template variable `{name}` is inside single quotes, where the shell cannot expand it; use double quotes"
                    )));
                }
            }
            env.push((var, value));
            rest = &after[end + 2..];
            continue;
        }
        let mut chars = rest.chars();
        let c = chars.next().expect("rest is not empty");
        script.push(c);
        match (quote, c) {
            // A comment runs to the end of the line; quotes in it open nothing.
            (Quote::None, '#')
                if script.len() == 1
                    || script[..script.len() - 1].ends_with(char::is_whitespace) =>
            {
                let end = chars.as_str().find('\n').unwrap_or(chars.as_str().len());
                script.push_str(&chars.as_str()[..end]);
                rest = &chars.as_str()[end..];
                continue;
            }
            (Quote::None, '\'') => quote = Quote::Single,
            (Quote::Single, '\'') => quote = Quote::None,
            (Quote::None, '"') => quote = Quote::Double,
            (Quote::Double, '"') => quote = Quote::None,
            // A backslash outside single quotes escapes the next character.
            (Quote::None | Quote::Double, '\\') => {
                if let Some(next) = chars.next() {
                    script.push(next);
                }
            }
            _ => {}
        }
        rest = chars.as_str();
    }
    Ok(Rendered { script, env })
}

/// Renders `template` and runs it with `bash -c` in the DAG's data directory, streaming stdout
/// and stderr into the attempt log. Returns the last line of stdout (Airflow pushes it as the
/// task's XCom). A non-zero exit fails the attempt.
pub(crate) async fn run(ctx: &TaskContext, template: &str) -> Result<String, TaskError> {
    let rendered = render(template, ctx)?;
    tracing::info!("running command: {}", rendered.script);
    let mut child = Command::new("bash")
        .env_remove(crate::process::API_TOKEN_ENV)
        .arg("-c")
        .arg(&rendered.script)
        .envs(rendered.env.iter().map(|(k, v)| (k, v)))
        .current_dir(ctx.data_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .context("cannot start bash")?;
    // Killed with its whole group if the attempt is dropped (timeout, Ctrl-C) before the
    // command exits, so no grandchild outlives its task.
    let mut guard = GroupGuard::new(child.id());
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    // Lines are split on bytes and decoded lossily: output that is not UTF-8 must neither stop
    // the reader (the command would die of SIGPIPE) nor vanish from the log.
    let read_out = async {
        let mut last = String::new();
        let mut reader = BufReader::new(stdout);
        let mut buf = Vec::new();
        while matches!(reader.read_until(b'\n', &mut buf).await, Ok(n) if n > 0) {
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\n', '\r']);
            tracing::info!(target: "rocket_dag::shell", "{line}");
            if !line.trim().is_empty() {
                last = line.to_owned();
            }
            buf.clear();
        }
        last
    };
    let read_err = async {
        let mut reader = BufReader::new(stderr);
        let mut buf = Vec::new();
        while matches!(reader.read_until(b'\n', &mut buf).await, Ok(n) if n > 0) {
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\n', '\r']);
            tracing::info!(target: "rocket_dag::shell", stream = "stderr", "{line}");
            buf.clear();
        }
    };
    let finished = async {
        let (last, ()) = tokio::join!(read_out, read_err);
        (last, child.wait().await)
    };
    let (last, status) = tokio::select! {
        r = finished => r,
        // Timeout or Ctrl-C: the guard kills the whole process group as we return.
        _ = ctx.cancelled() => {
            tracing::warn!("cancelled: killing the command's process group");
            return Err(TaskError::cancelled("the shell command was killed"));
        }
    };
    let status = status.context("waiting for the command")?;
    if status.success() {
        guard.disarm();
        tracing::info!("command exited with status 0");
        Ok(last)
    } else {
        Err(TaskError::msg(match status.code() {
            Some(code) => format!("command exited with status {code}"),
            None => format!("command was killed ({status})"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> TaskContext {
        TaskContext::builder("d", "t")
            .home(std::env::temp_dir().join("rocket-dag-shell-unit"))
            .param("name", "x'; rm -rf / #")
            .build()
    }

    #[test]
    fn placeholders_become_quoted_variable_references() {
        let r = render("echo {{ ds }} \"at {{params.name}}\"", &ctx()).unwrap();
        assert_eq!(
            r.script,
            "echo \"${ROCKET_DAG_TPL_0}\" \"at ${ROCKET_DAG_TPL_1}\""
        );
        assert_eq!(r.env[1].1, "x'; rm -rf / #");
    }

    #[test]
    fn bad_templates_are_rejected() {
        let c = ctx();
        assert!(
            render("echo '{{ ds }}'", &c)
                .unwrap_err()
                .to_string()
                .contains("single quotes")
        );
        assert!(
            render("echo {{ nope }}", &c)
                .unwrap_err()
                .to_string()
                .contains("unknown template variable `nope`")
        );
        assert!(render("echo {{ ds", &c).is_err());
        assert!(
            render("echo \\'{{ ds }}", &c).is_ok(),
            "an escaped quote opens nothing"
        );
        assert!(
            render("# don't panic\necho {{ ds }}", &c).is_ok(),
            "quotes in comments open nothing"
        );
        assert!(render("echo a # it's\necho {{ ds }}", &c).is_ok());
        assert!(
            render("echo a#'{{ ds }}'", &c).is_err(),
            "`#` inside a word is no comment"
        );
    }
}
