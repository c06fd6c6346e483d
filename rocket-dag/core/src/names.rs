//! The names a DAG is written with: options, trigger rules, layers; and "did you mean".

/// The task options `#[task]` takes, which `#[dag]` also takes as defaults for its tasks.
pub const TASK_OPTIONS: &[&str] = &[
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "execution_timeout",
    "trigger_rule",
    "layer",
];

/// Options only `#[task]` takes.
pub const TASK_ONLY_OPTIONS: &[&str] = &["id", "shell", "reads", "writes"];

/// Options only `#[dag]` takes.
pub const DAG_OPTIONS: &[&str] = &[
    "id",
    "schedule",
    "start_date",
    "end_date",
    "catchup",
    "timezone",
    "max_active_tasks",
    "max_active_runs",
    "tags",
    "description",
];

/// Airflow's trigger rules, by name.
pub const TRIGGER_RULES: &[&str] = &[
    "all_success",
    "all_failed",
    "all_done",
    "all_skipped",
    "one_success",
    "one_failed",
    "one_done",
    "none_failed",
    "none_failed_min_one_success",
    "none_skipped",
    "always",
];

/// The architecture's layers, by name.
pub const LAYERS: &[&str] = &["source", "storage", "business"];

/// The candidate closest to `name`, if it is close enough to be a typo (Levenshtein distance at
/// most a third of the candidate's length, and at least 2 allowed). Ties go to the first.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(name, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `expected one of `a`, `b`` plus a "did you mean" line when `found` looks like a typo.
pub fn expected_one_of(found: &str, accepted: &[&str]) -> String {
    let list: Vec<String> = accepted.iter().map(|s| format!("`{s}`")).collect();
    let mut msg = format!("expected one of {}", list.join(", "));
    if let Some(c) = closest(found, accepted) {
        msg.push_str(&format!("\nhelp: did you mean `{c}`?"));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name() {
        assert_eq!(closest("retires", TASK_OPTIONS), Some("retries"));
        assert_eq!(closest("all_sucess", TRIGGER_RULES), Some("all_success"));
        assert_eq!(closest("zzz", TASK_OPTIONS), None);
        assert!(expected_one_of("sorce", LAYERS).ends_with("did you mean `source`?"));
    }
}
