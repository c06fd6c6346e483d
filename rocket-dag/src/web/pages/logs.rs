//! An attempt's log: its download, and a live tail over server-sent events that reads the
//! file incrementally from an offset (one buffer of [`CHUNK`] bytes, never the whole file),
//! polling while the attempt runs and ending with an `end` event once it has finished.
//!
//! The file is found from the ids ([`crate::home::attempt_log`]), never from a path stored or
//! given, so no request can read outside the home's logs.

use std::convert::Infallible;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::Stream;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::super::AppState;
use super::{PageError, find_dag};
use crate::store::TaskStateRecord;

/// Bytes read at a time, by the download and by the tail.
pub(crate) const CHUNK: usize = 64 * 1024;
/// How often a running attempt's log is looked at again once its end is reached.
const POLL: Duration = Duration::from_millis(500);
/// How much of a log the instance page shows before the live tail takes over (its end).
pub(crate) const PAGE_TAIL: u64 = 64 * 1024;

/// The routes.
pub(super) fn routes() -> Router<AppState> {
    let base = "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/logs/{try_number}";
    Router::new()
        .route(base, get(download))
        .route(&format!("{base}/tail"), get(tail))
}

/// One attempt of one task instance, its ids checked.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub(crate) dag: String,
    pub(crate) run: String,
    pub(crate) task: String,
    pub(crate) map_index: i32,
    pub(crate) try_number: u32,
}

impl Attempt {
    /// Its log file under `home` (the ids are checked again there).
    pub(crate) fn path(&self, home: &std::path::Path) -> Result<PathBuf, PageError> {
        let map_index = u32::try_from(self.map_index).ok();
        Ok(crate::home::attempt_log(
            home,
            &self.dag,
            &self.run,
            &self.task,
            map_index,
            self.try_number,
        )?)
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct LogQuery {
    map_index: Option<i32>,
    offset: Option<u64>,
}

fn attempt(
    state: &AppState,
    (dag_id, run_id, task_id, try_number): (String, String, String, u32),
    q: &LogQuery,
) -> Result<Attempt, PageError> {
    let dag = find_dag(state, &dag_id)?;
    crate::ids::run(&run_id)?;
    crate::ids::task(&task_id)?;
    if dag.task(&task_id).is_none() {
        return Err(PageError::NotFound(format!(
            "DAG `{dag_id}` has no task `{task_id}`"
        )));
    }
    Ok(Attempt {
        dag: dag_id,
        run: run_id,
        task: task_id,
        map_index: q.map_index.unwrap_or(-1).max(-1),
        try_number,
    })
}

/// The log file as an attachment, streamed a chunk at a time.
async fn download(
    State(state): State<AppState>,
    Path(ids): Path<(String, String, String, u32)>,
    Query(q): Query<LogQuery>,
) -> Result<Response, PageError> {
    let a = attempt(&state, ids, &q)?;
    let path = a.path(&state.home)?;
    let file = tokio::fs::File::open(&path).await.map_err(|_| {
        PageError::NotFound(format!(
            "attempt {} of `{}` has no log",
            a.try_number, a.task
        ))
    })?;
    let name = format!(
        "{}__{}__{}{}__attempt={}.log",
        a.dag,
        a.run,
        a.task,
        if a.map_index >= 0 {
            format!("__{}", a.map_index)
        } else {
            String::new()
        },
        a.try_number
    );
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(file_chunks(file)),
    )
        .into_response())
}

/// `file` from where it stands to its end, [`CHUNK`] bytes at a time.
pub(crate) fn file_chunks(
    file: tokio::fs::File,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures::stream::unfold(Some((file, vec![0u8; CHUNK])), |st| async move {
        let (mut file, mut buf) = st?;
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => Some((Ok(Bytes::copy_from_slice(&buf[..n])), Some((file, buf)))),
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// The end of a log for the page: at most [`PAGE_TAIL`] bytes, whether it was cut, and the
/// offset the live tail goes on from. `None` when there is no log (yet).
pub(crate) async fn page_tail(path: PathBuf) -> Option<(String, bool, u64)> {
    let mut file = tokio::fs::File::open(&path).await.ok()?;
    let len = file.metadata().await.ok()?.len();
    let from = len.saturating_sub(PAGE_TAIL);
    file.seek(std::io::SeekFrom::Start(from)).await.ok()?;
    let mut bytes = Vec::with_capacity((len - from) as usize);
    file.take(len - from).read_to_end(&mut bytes).await.ok()?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if from > 0 {
        // Start at a whole line.
        if let Some(i) = text.find('\n') {
            text.drain(..=i);
        }
    }
    Some((text, from > 0, from + bytes.len() as u64))
}

/// Server-sent events: the log from `?offset=` (or the `Last-Event-ID` a reconnecting
/// browser sends), then what is appended while the attempt runs; `event: end` once it has
/// finished. Each event's id is the offset after it.
async fn tail(
    State(state): State<AppState>,
    Path(ids): Path<(String, String, String, u32)>,
    Query(q): Query<LogQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let a = attempt(&state, ids, &q)?;
    let path = a.path(&state.home)?;
    let offset = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or(q.offset)
        .unwrap_or(0);
    // Ends when the server stops, or graceful shutdown would wait for the attempt to finish.
    let stop = state.shutdown.clone().cancelled_owned();
    let tail = Tail {
        state,
        attempt: a,
        path,
        file: None,
        offset,
        carry: Vec::new(),
        buf: vec![0u8; CHUNK],
        draining: false,
        finished: false,
    };
    let stream = futures::StreamExt::take_until(futures::stream::unfold(tail, |t| t.next()), stop);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Where a tail stands.
struct Tail {
    state: AppState,
    attempt: Attempt,
    path: PathBuf,
    file: Option<tokio::fs::File>,
    offset: u64,
    /// The start of a UTF-8 character cut by the last read (at most 3 bytes).
    carry: Vec<u8>,
    buf: Vec<u8>,
    /// The attempt has finished: one last read, then `end`.
    draining: bool,
    finished: bool,
}

impl Tail {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Tail)> {
        if self.finished {
            return None;
        }
        loop {
            if let Some(text) = self.read().await {
                let event = Event::default().id(self.offset.to_string()).data(text);
                return Some((Ok(event), self));
            }
            if self.running().await {
                self.draining = false;
                tokio::time::sleep(POLL).await;
            } else if self.draining {
                self.finished = true;
                return Some((Ok(Event::default().event("end").data("finished")), self));
            } else {
                // Finished: read once more what it wrote just before.
                self.draining = true;
            }
        }
    }

    /// The next chunk as text, or `None` at the end of the file (or before it exists).
    async fn read(&mut self) -> Option<String> {
        if self.file.is_none() {
            let mut f = tokio::fs::File::open(&self.path).await.ok()?;
            f.seek(std::io::SeekFrom::Start(self.offset)).await.ok()?;
            self.file = Some(f);
        }
        let n = self.file.as_mut()?.read(&mut self.buf).await.ok()?;
        if n == 0 {
            return None;
        }
        self.offset += n as u64;
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(&self.buf[..n]);
        let text = match std::str::from_utf8(&bytes) {
            Ok(s) => s.to_owned(),
            Err(e) if e.error_len().is_none() => {
                self.carry = bytes.split_off(e.valid_up_to());
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
        };
        // SSE cannot carry a carriage return; a log's CRLF reads as LF.
        Some(text.replace('\r', ""))
    }

    /// Whether the attempt may still write to its log.
    async fn running(&self) -> bool {
        let a = &self.attempt;
        let Ok(tries) = self.state.store.task_instances(&a.dag, &a.run).await else {
            return false;
        };
        tries.iter().any(|t| {
            t.task_id == a.task
                && t.map_index == a.map_index
                && t.try_number == a.try_number
                && matches!(t.state, TaskStateRecord::Running | TaskStateRecord::Queued)
        })
    }
}
