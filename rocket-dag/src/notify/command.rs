//! The command notifier: a program run with the event on stdin, killed at its timeout.

use std::time::Duration;

use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::secret::excerpt;
use super::*;

/// Runs a program with the event's JSON on stdin (and `ROCKET_DAG_EVENT_KIND`,
/// `ROCKET_DAG_EVENT_TEXT` in its environment); kills its process group at the timeout.
#[derive(Debug, Clone)]
pub struct CommandNotifier {
    config: CommandConfig,
}

impl CommandNotifier {
    /// A command notifier for `config`.
    pub fn new(config: &CommandConfig) -> Result<CommandNotifier, ConfigError> {
        if config.program.trim().is_empty() {
            return Err(ConfigError::EmptyCommand);
        }
        Ok(CommandNotifier {
            config: config.clone(),
        })
    }

    async fn deliver(&self, event: &Event) -> Result<(), NotifyError> {
        let fail = |cause: String| NotifyError::Command {
            program: self.config.program.clone(),
            cause,
        };
        let json = serde_json::to_vec(event).map_err(|e| fail(e.to_string()))?;
        let mut child = tokio::process::Command::new(&self.config.program)
            .env_remove(crate::process::API_TOKEN_ENV)
            .args(&self.config.args)
            .env("ROCKET_DAG_EVENT_KIND", event.kind.as_str())
            .env("ROCKET_DAG_EVENT_TEXT", event.text())
            .stdin(std::process::Stdio::piped())
            // stdout may be the CLI's JSON document: keep it clean.
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| fail(format!("cannot start it: {e}")))?;
        // The whole group (a shell's children with it) is killed at the timeout, or when the
        // delivery itself is abandoned.
        let mut group = GroupGuard::new(child.id());
        let stdin = child.stdin.take();
        let stderr = child.stderr.take();
        let run = async {
            let write = async {
                if let Some(mut stdin) = stdin {
                    // A program that does not read its input is not a failure.
                    let _ = stdin.write_all(&json).await;
                    let _ = stdin.shutdown().await;
                }
            };
            let read = async {
                let mut tail = Vec::new();
                if let Some(mut stderr) = stderr {
                    let mut buf = [0u8; 4096];
                    // Read everything (a full pipe would block the program), keep the end.
                    while let Ok(n) = stderr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        tail.extend_from_slice(&buf[..n]);
                        if tail.len() > 4 * EXCERPT {
                            tail.drain(..tail.len() - 2 * EXCERPT);
                        }
                    }
                }
                String::from_utf8_lossy(&tail).into_owned()
            };
            let ((), stderr) = tokio::join!(write, read);
            (child.wait().await, stderr)
        };
        let outcome = tokio::time::timeout(self.config.timeout, run).await;
        if outcome.is_ok() {
            group.disarm();
        }
        match outcome {
            Ok((Ok(status), _)) if status.success() => Ok(()),
            Ok((Ok(status), stderr)) => {
                let stderr = stderr_tail(&stderr);
                Err(fail(if stderr.is_empty() {
                    format!("{status}")
                } else {
                    format!("{status}: {stderr}")
                }))
            }
            Ok((Err(e), _)) => Err(fail(format!("cannot wait for it: {e}"))),
            Err(_) => {
                drop(group);
                let _ = child.kill().await;
                Err(fail(format!(
                    "killed after its timeout of {}",
                    format_duration(self.config.timeout)
                )))
            }
        }
    }
}

/// The last lines a program wrote on stderr, on one line.
pub(super) fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    excerpt(&tail.join(" / "))
}

impl Notifier for CommandNotifier {
    fn name(&self) -> String {
        format!("command `{}`", self.config.program)
    }

    fn notify<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.deliver(event))
    }

    fn max_duration(&self) -> Duration {
        self.config.timeout + Duration::from_secs(1)
    }
}
