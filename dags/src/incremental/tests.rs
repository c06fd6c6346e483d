use chrono::Duration;

use super::*;
use crate::ll2::parse_page;

fn fixture(name: &str) -> Vec<Launch> {
    let path = format!("{}/fixtures/ll2/{name}", env!("CARGO_MANIFEST_DIR"));
    parse_page(&std::fs::read(path).unwrap()).unwrap().results
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn kinds(c: &Changes) -> Vec<(String, ChangeKind)> {
    c.changes.iter().map(|c| (c.id.clone(), c.kind)).collect()
}

#[test]
fn first_run_everything_is_new_then_nothing_changes() {
    let launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
    let at = t("2025-11-02T00:00:00Z");
    let (c, next) = diff(&SyncState::default(), &launches, at, "r1");
    assert_eq!((c.new, c.changed, c.unchanged, c.gone), (5, 0, 0, 0));
    assert_eq!(c.listed, 5);
    assert_eq!(c.previous_sync, None);
    // 2.2.0 sends last_updated: every age is known, none waited (no previous run).
    assert_eq!((c.age_hours.samples, c.unknown_age), (5, 0));
    assert_eq!(c.pickup_hours.samples, 0);
    assert_eq!(next.launches.len(), 5);
    assert_eq!(next.synced_at, Some(at));
    assert!(next.watermark.is_some());

    let later = at + Duration::hours(6);
    let (again, _) = diff(&next, &launches, later, "r2");
    assert_eq!(
        (again.new, again.changed, again.unchanged, again.gone),
        (0, 0, 5, 0)
    );
    assert!(again.changes.is_empty());
    assert!(again.to_process().is_empty());
    assert_eq!(again.hours_since_sync, Some(6.0));
}

#[test]
fn changed_fields_gone_launches_and_the_wait_for_a_run() {
    let launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
    let at = t("2025-11-02T00:00:00Z");
    let (_, state) = diff(&SyncState::default(), &launches, at, "r1");
    let mut now = launches.clone();
    // The API moves the first launch by a day, an hour after the last run.
    now[0].net = now[0].net.map(|n| n + Duration::days(1));
    now[0].last_updated = Some(at + Duration::hours(1));
    // Another gets a new status (and no new last_updated: content still tells).
    now[1].status = Some("Hold".into());
    // The last one launched: gone from "upcoming".
    let gone = now.pop().unwrap();
    let fetched = at + Duration::hours(4);
    let (c, next) = diff(&state, &now, fetched, "r2");
    assert_eq!((c.new, c.changed, c.unchanged, c.gone), (0, 2, 2, 1));
    assert_eq!(
        kinds(&c),
        [
            (now[0].id.clone(), ChangeKind::Changed),
            (now[1].id.clone(), ChangeKind::Changed),
            (gone.id.clone(), ChangeKind::Gone)
        ]
    );
    assert_eq!(c.changes[0].fields, ["net", "last_updated"]);
    assert_eq!(c.changes[1].fields, ["status"]);
    // Updated 1 h after the previous sync, picked up 3 h later.
    assert_eq!(c.changes[0].pickup_hours, Some(3.0));
    assert_eq!(c.changes[0].age_hours, Some(3.0));
    assert_eq!(c.pickup_hours.samples, 1);
    assert!(!next.launches.contains_key(&gone.id));
    // first_seen stays that of the first run.
    assert_eq!(next.launches[&now[0].id].first_seen, at);
    let process = c.to_process();
    assert!(process.contains(now[0].id.as_str()) && process.contains(now[1].id.as_str()));
    assert_eq!(process.len(), 2);
}

#[test]
fn feeds_without_last_updated_are_compared_by_content() {
    let launches = fixture("v2.0.0-upcoming-2026-03.json");
    assert!(launches.iter().all(|l| l.last_updated.is_none()));
    let at = t("2026-03-05T00:00:00Z");
    let (c, state) = diff(&SyncState::default(), &launches, at, "r1");
    assert_eq!(c.unknown_age, c.new);
    assert_eq!(c.age_hours.samples, 0);
    let mut now = launches.clone();
    now[2].image_url = Some("https://example.com/new.png".into());
    let (c, _) = diff(&state, &now, at + Duration::hours(1), "r2");
    assert_eq!(c.changed, 1);
    assert_eq!(c.changes[0].fields, ["image"]);
}

#[test]
fn a_failed_picture_keeps_its_launch_for_the_next_run() {
    let launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
    let at = t("2025-11-02T00:00:00Z");
    let (_, first) = diff(&SyncState::default(), &launches, at, "r1");
    // Run 1's picture of launch 0 failed: it stays unknown, so run 2 sees it as new.
    let failed: BTreeSet<String> = [launches[0].id.clone()].into();
    let committed = commit(&SyncState::default(), first.clone(), &failed);
    assert!(!committed.launches.contains_key(&launches[0].id));
    let (c, _) = diff(&committed, &launches, at + Duration::hours(1), "r2");
    assert_eq!((c.new, c.unchanged), (1, 4));
    // A changed launch whose picture failed goes back to what was known before.
    let mut now = launches.clone();
    now[1].image_url = Some("https://example.com/other.png".into());
    let (_, second) = diff(&first, &now, at + Duration::hours(2), "r2");
    let failed: BTreeSet<String> = [now[1].id.clone()].into();
    let kept = commit(&first, second, &failed);
    assert_eq!(kept.launches[&now[1].id], first.launches[&now[1].id]);
}

#[test]
fn the_state_file_round_trips_and_a_corrupt_one_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STATE_FILE);
    assert_eq!(SyncState::load(&path).unwrap(), SyncState::default());
    let launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
    let (_, state) = diff(
        &SyncState::default(),
        &launches,
        t("2025-11-02T00:00:00Z"),
        "r1",
    );
    state.save(&path).unwrap();
    assert_eq!(SyncState::load(&path).unwrap(), state);
    // Nothing but the state in its folder: written to a temporary name, then renamed.
    let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["launches.json"]);

    std::fs::write(&path, b"{\"version\": 1, \"launches\": [tr").unwrap();
    let err = SyncState::load(&path).unwrap_err().to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("not a state file"), "{err}");
    // Left as it was.
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{\"version\": 1, \"launches\": [tr"
    );
    std::fs::write(&path, b"{\"version\": 99, \"launches\": {}}").unwrap();
    let err = SyncState::load(&path).unwrap_err().to_string();
    assert!(err.contains("format version 99"), "{err}");
}

#[test]
fn an_unreadable_last_updated_is_unknown() {
    let page = br#"{"results": [
        {"id": "a", "name": "A", "last_updated": "yesterday"},
        {"id": "b", "name": "B", "last_updated": 1700000000},
        {"id": "c", "name": "C", "last_updated": "2025-11-01T00:17:41Z"}
    ]}"#;
    let launches = parse_page(page).unwrap().results;
    let got: Vec<Option<DateTime<Utc>>> = launches.iter().map(|l| l.last_updated).collect();
    assert_eq!(got, [None, None, Some(t("2025-11-01T00:17:41Z"))]);
    let (c, _) = diff(
        &SyncState::default(),
        &launches,
        t("2025-11-02T00:00:00Z"),
        "r",
    );
    assert_eq!((c.unknown_age, c.age_hours.samples), (2, 1));
}
