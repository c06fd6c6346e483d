//! Delivery: each run's events, in order, off the scheduling loop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tokio::sync::mpsc;

use super::*;

/// The notifiers a [`crate::Runner`] uses: one set for every DAG, and sets for single DAGs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Routes {
    default: Option<Notifiers>,
    dags: HashMap<String, Notifiers>,
}

impl Routes {
    pub(crate) fn set_default(&mut self, notifiers: Notifiers) {
        self.default = Some(notifiers);
    }

    pub(crate) fn set_dag(&mut self, dag_id: String, notifiers: Notifiers) {
        self.dags.insert(dag_id, notifiers);
    }

    /// The queue of one run of `dag_id`, or `None` when it notifies nothing.
    pub(crate) fn start_run(&self, dag_id: &str) -> Option<Arc<RunQueue>> {
        let n = self.dags.get(dag_id).or(self.default.as_ref())?;
        (!n.is_empty()).then(|| RunQueue::start(n.clone()))
    }
}

/// One run's events, delivered in order by a tokio task of their own, so that raising one
/// never waits for a notifier.
#[derive(Debug)]
pub(crate) struct RunQueue {
    notifiers: Notifiers,
    sender: Mutex<Option<mpsc::UnboundedSender<Event>>>,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
    pending: Arc<AtomicUsize>,
}

impl EventSink for RunQueue {
    fn task_event(&self, ctx: &TaskContext, kind: &str, message: String, data: Value) {
        let t = TaskTry {
            task_id: ctx.task_id(),
            map_index: ctx.map_index(),
            try_number: ctx.try_number(),
            max_tries: ctx.max_tries(),
        };
        let mut event = Event::for_try(&ctx.run, EventKind::from(kind), t, message);
        event.data = data;
        self.emit(event);
    }
}

impl RunQueue {
    fn start(notifiers: Notifiers) -> Arc<RunQueue> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let pending = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (notifiers, pending) = (notifiers.clone(), pending.clone());
            tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    notifiers.send(&event).await;
                    pending.fetch_sub(1, Ordering::Relaxed);
                }
            })
        };
        Arc::new(RunQueue {
            notifiers,
            sender: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
            pending,
        })
    }

    /// Queues `event` (if its kind is sent) and returns at once.
    pub(crate) fn emit(&self, event: Event) {
        if !self.notifiers.accepts(&event.kind) {
            return;
        }
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let event = match sender.as_ref() {
            Some(tx) => {
                self.pending.fetch_add(1, Ordering::Relaxed);
                match tx.send(event) {
                    Ok(()) => return,
                    Err(mpsc::error::SendError(event)) => {
                        self.pending.fetch_sub(1, Ordering::Relaxed);
                        event
                    }
                }
            }
            None => event,
        };
        // The run is over (a task's own tokio task raising late): deliver it on its own.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let notifiers = self.notifiers.clone();
            rt.spawn(async move { notifiers.send(&event).await });
        }
    }

    /// Closes the queue and waits until what it holds is delivered, at most as long as one
    /// delivery may take plus 5 s.
    pub(crate) async fn finish(&self) {
        drop(
            self.sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(worker) = worker else {
            return;
        };
        let bound = self.notifiers.max_duration() + DRAIN_SLACK;
        let abort = worker.abort_handle();
        if tokio::time::timeout(bound, worker).await.is_err() {
            abort.abort();
            tracing::warn!(
                target: "rocket_dag::notify",
                "gave up waiting for notifications after {}: {} not delivered",
                format_duration(bound),
                self.pending.load(Ordering::Relaxed)
            );
        }
    }
}
