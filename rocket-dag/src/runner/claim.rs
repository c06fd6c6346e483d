//! Claiming a run for this process (once per store within a process; the store's claim tells
//! processes apart).

/// The runs this process executes, per store, so that two `Runner::run`s of one run in one
/// process do not both run it (the store's claim tells processes apart, not calls).
pub(super) struct Executing(String, String, String);

static EXECUTING: std::sync::Mutex<Vec<(String, String, String)>> =
    std::sync::Mutex::new(Vec::new());

impl Executing {
    pub(super) fn claim(store: String, dag: &str, run: &str) -> Option<Executing> {
        let key = (store, dag.to_owned(), run.to_owned());
        let mut all = EXECUTING.lock().unwrap_or_else(|e| e.into_inner());
        if all.contains(&key) {
            return None;
        }
        all.push(key.clone());
        Some(Executing(key.0, key.1, key.2))
    }
}

impl Drop for Executing {
    fn drop(&mut self) {
        let mut all = EXECUTING.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|(s, d, r)| !(*s == self.0 && *d == self.1 && *r == self.2));
    }
}
