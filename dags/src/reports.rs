//! Per-run reports of the Rocket pipeline: the launches, the picture downloads and the DAG's
//! run history, each as JSON, CSV and Markdown.
//!
//! A report is built from plain data by a pure function ([`LaunchReport::build`],
//! [`DownloadReport::build`], [`HistoryReport::build`]), so it is testable without a network
//! or a database; [`HistoryReport::load`] reads its input from the run history first. Each
//! report serializes to JSON as it is (numbers are plain numbers, instants RFC 3339), renders
//! Markdown for a course report ([`LaunchReport::to_markdown`], …) and writes its files into a
//! directory the caller gives (the DAG passes `<home>/data/<dag>/reports/<run_id>/`):
//!
//! | report | JSON and Markdown | CSV, one file per table |
//! |---|---|---|
//! | [`LaunchReport`] | `launches.json`, `launches.md` | `launches.csv` (key fields, one row per launch), `launches_counts.csv` (`dimension,value,launches`), `launches_intervals.csv` (gaps) |
//! | [`DownloadReport`] | `downloads.json`, `downloads.md` | `downloads.csv` (one row per launch), `downloads_slowest.csv`, `downloads_summary.csv` (the other tables in long form: `table,key,metric,value`) |
//! | [`HistoryReport`] | `history.json`, `history.md` | `history.csv` (images per day), `history_success_rate.csv`, `history_durations.csv` (one row per run and task) |
//!
//! Every file is written atomically: to a hidden temporary file in the same directory, flushed
//! to disk, then renamed into place, so a reader sees the previous version of a file or the
//! new one, never half of one (a report's files are replaced one after the other, though, not
//! all at once). Writing is blocking file I/O: from async code, go through
//! `tokio::task::spawn_blocking`.
//!
//! ```
//! # use dags::reports::{DownloadReport, LaunchReport};
//! let logical_date = "2025-11-02T00:00:00Z".parse().unwrap();
//! let launches = LaunchReport::build(&[], logical_date);
//! assert!(launches.to_markdown().contains("no launches"));
//! let dir = tempfile::tempdir()?;
//! let written = DownloadReport::build(&[]).write(dir.path())?;
//! assert!(written.iter().any(|p| p.ends_with("downloads.md")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, SecondsFormat, Utc};
use chrono_tz::{OffsetName, Tz};
use rocket_dag::store::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, Store, StoreError, TaskInstanceRecord,
};
use serde::{Deserialize, Serialize};

use crate::ll2::Launch;
use crate::record::{ImageRecord, Outcome};

/// Days before and after the logical date that [`LaunchWindow`] covers.
pub const WINDOW_DAYS: i64 = 30;

/// How many of the slowest images [`DownloadReport::slowest`] lists.
pub const SLOWEST_IMAGES: usize = 10;

/// Calendar days (UTC) that the per-day figures of [`HistoryReport`] cover, today included.
pub const HISTORY_DAYS: i64 = 30;

/// Why a report could not be read or written.
///
/// The message includes the cause (so `source()` does not repeat it), as in
/// [`StoreError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A report file or the report directory could not be written.
    #[error("cannot write the report file {}: {cause}", path.display())]
    Write {
        /// The file (or directory).
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// A report could not be encoded as JSON or CSV (not expected: every report is plain data).
    #[error("cannot encode the report file {name}: {message}")]
    Encode {
        /// The file name, e.g. `launches.csv`.
        name: String,
        /// What the encoder said.
        message: String,
    },
    /// The run history could not be read.
    #[error("cannot read the run history of DAG `{dag_id}` for its report: {cause}")]
    History {
        /// The DAG.
        dag_id: String,
        /// Why.
        cause: StoreError,
    },
}

/// Builds the launch and download reports (and writes the history report if given) into
/// `dir`, creating it; returns every file written, in order.
///
/// Blocking file I/O: from an async task, call it through `tokio::task::spawn_blocking`.
///
/// # Errors
///
/// [`ReportError::Write`] when a file cannot be written; files written before stay.
pub fn write_all(
    dir: &Path,
    launches: &[Launch],
    logical_date: DateTime<Utc>,
    records: &[ImageRecord],
    history: Option<&HistoryReport>,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = LaunchReport::build(launches, logical_date).write(dir)?;
    written.extend(DownloadReport::build(records).write(dir)?);
    if let Some(history) = history {
        written.extend(history.write(dir)?);
    }
    Ok(written)
}

/// A count of one value, e.g. launches by provider `SpaceX`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The value; `null` when the data gave none.
    pub value: Option<String>,
    /// How many.
    pub count: usize,
}

// ---------------------------------------------------------------------------------------------
// Launch report
// ---------------------------------------------------------------------------------------------

/// What is known about the launches of a run, as of its logical date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaunchReport {
    /// The run's logical date.
    pub logical_date: DateTime<Utc>,
    /// Every launch, by NET (launches without a NET last, in API order).
    pub launches: Vec<LaunchRow>,
    /// The launches shortly before and after the logical date.
    pub window: LaunchWindow,
    /// Launches per rocket family, rocket, provider, pad, country and status.
    pub counts: LaunchCounts,
    /// The time between consecutive launches.
    pub intervals: Intervals,
}

/// The key fields of one launch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaunchRow {
    /// LL2 launch id.
    pub id: String,
    /// Launch name, e.g. `Falcon 9 Block 5 | Starlink Group 11-23`.
    pub name: String,
    /// NET ("no earlier than"), UTC.
    pub net: Option<DateTime<Utc>>,
    /// NET in the pad's time zone, RFC 3339 with its UTC offset (in UTC when the zone is
    /// unknown, see `zone_fallback`).
    pub net_local: Option<String>,
    /// The IANA time zone `net_local` is in: the pad's, or `UTC` as a fallback.
    pub zone: String,
    /// The zone's abbreviation at NET, e.g. `PDT`; `null` when the zone has none (its
    /// offset is the name) or there is no NET.
    pub zone_abbreviation: Option<String>,
    /// Why `net_local` is in UTC rather than in the pad's time zone; `null` when it is not.
    pub zone_fallback: Option<ZoneFallback>,
    /// Launch status, e.g. `Go for Launch`.
    pub status: Option<String>,
    /// Launch service provider.
    pub provider: Option<String>,
    /// Rocket configuration.
    pub rocket: Option<String>,
    /// Rocket family.
    pub rocket_family: Option<String>,
    /// Launch pad.
    pub pad: Option<String>,
    /// The pad's location.
    pub location: Option<String>,
    /// The pad's country code.
    pub country: Option<String>,
    /// Mission name.
    pub mission: Option<String>,
    /// Target orbit.
    pub orbit: Option<String>,
}

/// Why a launch's local time is shown in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ZoneFallback {
    /// The API gave no time zone for the pad (API versions before 2.2.0 never do).
    NotGiven,
    /// The API gave a name that is not an IANA time zone known to chrono-tz.
    Unknown {
        /// The name the API gave.
        given: String,
    },
}

/// Launches whose NET is in the [`WINDOW_DAYS`] days before the logical date
/// (`[logical − 30 d, logical)`) or after it (`[logical, logical + 30 d)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaunchWindow {
    /// Days on each side.
    pub days: i64,
    /// Start of the window (included).
    pub start: DateTime<Utc>,
    /// End of the window (excluded).
    pub end: DateTime<Utc>,
    /// Launches before the logical date, by NET.
    pub before: Vec<WindowLaunch>,
    /// Launches at or after the logical date, by NET.
    pub after: Vec<WindowLaunch>,
    /// Launches with a NET outside the window.
    pub outside: usize,
    /// Launches without a NET.
    pub without_net: usize,
}

/// A launch in the [`LaunchWindow`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowLaunch {
    /// LL2 launch id.
    pub id: String,
    /// Launch name.
    pub name: String,
    /// NET, UTC.
    pub net: DateTime<Utc>,
    /// NET minus the logical date, in seconds (negative before it).
    pub seconds_from_logical_date: i64,
}

/// Launches per value of each dimension, most frequent first (ties by value, `null` last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchCounts {
    /// Per rocket family.
    pub rocket_family: Vec<Count>,
    /// Per rocket configuration.
    pub rocket: Vec<Count>,
    /// Per launch service provider.
    pub provider: Vec<Count>,
    /// Per pad, named `pad (location)` because pad names alone repeat across sites (`201`,
    /// `Launch Complex 1`).
    pub pad: Vec<Count>,
    /// Per country code of the pad.
    pub country: Vec<Count>,
    /// Per launch status.
    pub status: Vec<Count>,
}

/// The gaps between consecutive launches, in NET order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intervals {
    /// Each gap, in NET order.
    pub gaps: Vec<Gap>,
    /// Launches left out because they have no NET.
    pub without_net: usize,
    /// The shortest gap, in seconds.
    pub min_seconds: Option<i64>,
    /// The median gap, in seconds: the middle gap, or the mean of the two middle ones for an
    /// even number of gaps.
    pub median_seconds: Option<f64>,
    /// The longest gap, in seconds.
    pub max_seconds: Option<i64>,
}

/// The time from one launch to the next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// The earlier launch's id.
    pub from_id: String,
    /// The earlier launch's name.
    pub from_name: String,
    /// The earlier launch's NET.
    pub from_net: DateTime<Utc>,
    /// The later launch's id.
    pub to_id: String,
    /// The later launch's name.
    pub to_name: String,
    /// The later launch's NET.
    pub to_net: DateTime<Utc>,
    /// The gap in seconds (0 for launches at the same NET).
    pub seconds: i64,
}

impl LaunchReport {
    /// Builds the report of `launches` for the run of `logical_date`.
    pub fn build(launches: &[Launch], logical_date: DateTime<Utc>) -> LaunchReport {
        let mut sorted: Vec<&Launch> = launches.iter().collect();
        // Stable: launches at the same NET, and those without one, keep the API's order.
        sorted.sort_by_key(|l| (l.net.is_none(), l.net));

        let window = Duration::days(WINDOW_DAYS);
        let (start, end) = (logical_date - window, logical_date + window);
        let mut before = Vec::new();
        let mut after = Vec::new();
        let mut outside = 0;
        for launch in &sorted {
            let Some(net) = launch.net else { continue };
            let entry = WindowLaunch {
                id: launch.id.clone(),
                name: launch.name.clone(),
                net,
                seconds_from_logical_date: (net - logical_date).num_seconds(),
            };
            match window_side(net, logical_date) {
                Some(Side::Before) => before.push(entry),
                Some(Side::After) => after.push(entry),
                None => outside += 1,
            }
        }
        let without_net = sorted.iter().filter(|l| l.net.is_none()).count();

        let dated: Vec<(&Launch, DateTime<Utc>)> = sorted
            .iter()
            .filter_map(|l| l.net.map(|net| (*l, net)))
            .collect();
        let gaps: Vec<Gap> = dated
            .windows(2)
            .map(|pair| {
                let ((from, from_net), (to, to_net)) = (pair[0], pair[1]);
                Gap {
                    from_id: from.id.clone(),
                    from_name: from.name.clone(),
                    from_net,
                    to_id: to.id.clone(),
                    to_name: to.name.clone(),
                    to_net,
                    seconds: (to_net - from_net).num_seconds(),
                }
            })
            .collect();
        let mut seconds: Vec<i64> = gaps.iter().map(|g| g.seconds).collect();
        seconds.sort_unstable();

        let count = |field: fn(&Launch) -> Option<String>| tally(sorted.iter().map(|l| field(l)));
        LaunchReport {
            logical_date,
            launches: sorted.iter().map(|l| launch_row(l)).collect(),
            window: LaunchWindow {
                days: WINDOW_DAYS,
                start,
                end,
                before,
                after,
                outside,
                without_net,
            },
            counts: LaunchCounts {
                rocket_family: count(|l| l.rocket_family.clone()),
                rocket: count(|l| l.rocket.clone()),
                provider: count(|l| l.provider.clone()),
                pad: count(|l| match (&l.pad, &l.location) {
                    (Some(pad), Some(location)) => Some(format!("{pad} ({location})")),
                    (pad, _) => pad.clone(),
                }),
                country: count(|l| l.country.clone()),
                status: count(|l| l.status.clone()),
            },
            intervals: Intervals {
                gaps,
                without_net,
                min_seconds: seconds.first().copied(),
                median_seconds: median(&seconds),
                max_seconds: seconds.last().copied(),
            },
        }
    }

    /// The report in Markdown: headings, tables and short explanations.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let date = fmt_utc(self.logical_date);
        md.push_str("# Upcoming launches\n\n");
        let Some(first) = self.launches.first() else {
            let _ = writeln!(
                md,
                "The Launch Library 2 API returned no launches for the run with logical date \
                 {date}: there is nothing to report.",
            );
            return md;
        };
        let n = self.launches.len();
        let _ = write!(
            md,
            "Launches from the Launch Library 2 API for the run with logical date **{date}**: \
             {}",
            plural(n, "launch", "launches"),
        );
        let last_dated = self.launches.iter().rev().find_map(|l| l.net);
        match (first.net, last_dated) {
            (Some(a), Some(b)) if n > 1 => {
                let _ = write!(md, ", from {} to {}", fmt_utc(a), fmt_utc(b));
            }
            (Some(a), _) => {
                let _ = write!(md, ", on {}", fmt_utc(a));
            }
            _ => {}
        }
        md.push_str(
            ". NET (\"no earlier than\") is the earliest time a launch may happen; it moves as \
             the date firms up.\n\n",
        );

        md.push_str("## Launches\n\n");
        let mut table = Table::new(&[
            ("#", Align::Right),
            ("Launch", Align::Left),
            ("NET (UTC)", Align::Left),
            ("NET (pad local time)", Align::Left),
            ("Status", Align::Left),
            ("Provider", Align::Left),
            ("Rocket", Align::Left),
            ("Pad", Align::Left),
            ("Location", Align::Left),
            ("Mission", Align::Left),
            ("Orbit", Align::Left),
        ]);
        let mut unknown_zones: Vec<&str> = Vec::new();
        let mut zone_not_given = false;
        for (i, row) in self.launches.iter().enumerate() {
            match &row.zone_fallback {
                Some(ZoneFallback::NotGiven) => zone_not_given = true,
                Some(ZoneFallback::Unknown { given })
                    if !unknown_zones.contains(&given.as_str()) =>
                {
                    unknown_zones.push(given);
                }
                Some(ZoneFallback::Unknown { .. }) | None => {}
            }
            table.row(vec![
                (i + 1).to_string(),
                text(&row.name),
                row.net.map_or_else(dash, fmt_utc),
                local_cell(row),
                opt_text(&row.status),
                opt_text(&row.provider),
                opt_text(&row.rocket),
                opt_text(&row.pad),
                opt_text(&row.location),
                opt_text(&row.mission),
                opt_text(&row.orbit),
            ]);
        }
        table.render(&mut md);
        if self.launches.iter().any(|l| l.zone_fallback.is_none()) {
            md.push_str(
                "\nLocal times are in the pad's time zone as the API names it (IANA), with the \
                 zone's abbreviation and UTC offset at that moment.\n",
            );
        }
        if zone_not_given {
            md.push_str(
                "\n† The API gave no time zone for the pad (API versions before 2.2.0 send \
                 none): the local time is shown in UTC.\n",
            );
        }
        if !unknown_zones.is_empty() {
            let names: Vec<String> = unknown_zones.iter().map(|z| code(z)).collect();
            let _ = writeln!(
                md,
                "\n‡ The API gave a time zone that is not a known IANA zone ({}): the local \
                 time is shown in UTC.",
                names.join(", "),
            );
        }

        self.window_markdown(&mut md);
        self.counts_markdown(&mut md);
        self.intervals_markdown(&mut md);
        md
    }

    fn window_markdown(&self, md: &mut String) {
        let w = &self.window;
        let date = fmt_utc(self.logical_date);
        let _ = writeln!(
            md,
            "\n## Around the logical date\n\n\
             Launches with a NET in the {days} days before {date} and in the {days} days from \
             it on (a launch exactly at the logical date counts as after): {before} before, \
             {after} after, {outside} outside the window, {none} without a NET.",
            days = w.days,
            before = w.before.len(),
            after = w.after.len(),
            outside = w.outside,
            none = w.without_net,
        );
        for (heading, column, launches) in [
            ("Before the logical date", "Before", &w.before),
            ("After the logical date", "After", &w.after),
        ] {
            let _ = writeln!(md, "\n### {heading}\n");
            if launches.is_empty() {
                md.push_str("None.\n");
                continue;
            }
            let mut table = Table::new(&[
                ("Launch", Align::Left),
                ("NET (UTC)", Align::Left),
                (column, Align::Right),
            ]);
            for l in launches.iter() {
                table.row(vec![
                    text(&l.name),
                    fmt_utc(l.net),
                    fmt_span(l.seconds_from_logical_date.abs()),
                ]);
            }
            table.render(md);
        }
    }

    fn counts_markdown(&self, md: &mut String) {
        md.push_str(
            "\n## Counts\n\nLaunches per rocket family, rocket configuration, provider, pad, \
             country and status, most frequent first; *not given* counts the launches for \
             which the API gave no value.\n",
        );
        let total = self.launches.len();
        for (dimension, heading, column) in self.count_tables() {
            let _ = writeln!(md, "\n### Per {heading}\n");
            if dimension.is_empty() {
                md.push_str("No launches.\n");
                continue;
            }
            let mut table = Table::new(&[
                (column, Align::Left),
                ("Launches", Align::Right),
                ("Share", Align::Right),
            ]);
            for c in dimension {
                table.row(vec![
                    c.value.as_deref().map_or_else(not_given, text),
                    fmt_int(c.count as u64),
                    fmt_pct(c.count as f64 / total as f64),
                ]);
            }
            table.render(md);
        }
    }

    /// The count tables with their Markdown heading and column name.
    fn count_tables(&self) -> [(&[Count], &'static str, &'static str); 6] {
        let c = &self.counts;
        [
            (&c.rocket_family, "rocket family", "Rocket family"),
            (&c.rocket, "rocket configuration", "Rocket"),
            (&c.provider, "provider", "Provider"),
            (&c.pad, "pad", "Pad (location)"),
            (&c.country, "country", "Country"),
            (&c.status, "status", "Status"),
        ]
    }

    fn intervals_markdown(&self, md: &mut String) {
        let iv = &self.intervals;
        md.push_str(
            "\n## Intervals between launches\n\nThe time from each launch to the next, in NET \
             order.",
        );
        if iv.without_net > 0 {
            let _ = write!(
                md,
                " {} without a NET {} left out.",
                plural(iv.without_net, "launch", "launches"),
                if iv.without_net == 1 { "is" } else { "are" },
            );
        }
        md.push('\n');
        if iv.gaps.is_empty() {
            md.push_str("\nFewer than two launches have a NET: there is no interval.\n");
            return;
        }
        md.push('\n');
        let mut table = Table::new(&[
            ("From", Align::Left),
            ("To", Align::Left),
            ("Gap", Align::Right),
        ]);
        for g in &iv.gaps {
            table.row(vec![
                text(&g.from_name),
                text(&g.to_name),
                fmt_span(g.seconds),
            ]);
        }
        table.render(md);
        if let (Some(min), Some(median), Some(max)) =
            (iv.min_seconds, iv.median_seconds, iv.max_seconds)
        {
            let _ = writeln!(
                md,
                "\nShortest gap {}, median {}, longest {} (over {}).",
                fmt_span(min),
                fmt_span(median.round() as i64),
                fmt_span(max),
                plural(iv.gaps.len(), "gap", "gaps"),
            );
        }
    }

    /// Writes `launches.json`, `launches.csv`, `launches_counts.csv`, `launches_intervals.csv`
    /// and `launches.md` into `dir` (created if missing), each atomically; returns their paths.
    ///
    /// # Errors
    ///
    /// [`ReportError::Write`] when a file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        let mut launches = CsvTable::new(&[
            "id",
            "name",
            "net_utc",
            "net_local",
            "zone",
            "zone_abbreviation",
            "zone_fallback",
            "window",
            "status",
            "provider",
            "rocket",
            "rocket_family",
            "pad",
            "location",
            "country",
            "mission",
            "orbit",
        ]);
        for r in &self.launches {
            let fallback = match &r.zone_fallback {
                None => String::new(),
                Some(ZoneFallback::NotGiven) => "not_given".into(),
                Some(ZoneFallback::Unknown { .. }) => "unknown".into(),
            };
            let side = r.net.and_then(|net| window_side(net, self.logical_date));
            launches.row(vec![
                r.id.clone(),
                r.name.clone(),
                r.net.map(rfc3339).unwrap_or_default(),
                r.net_local.clone().unwrap_or_default(),
                r.zone.clone(),
                r.zone_abbreviation.clone().unwrap_or_default(),
                fallback,
                side.map(Side::as_str).unwrap_or_default().to_owned(),
                opt(&r.status),
                opt(&r.provider),
                opt(&r.rocket),
                opt(&r.rocket_family),
                opt(&r.pad),
                opt(&r.location),
                opt(&r.country),
                opt(&r.mission),
                opt(&r.orbit),
            ]);
        }
        let mut counts = CsvTable::new(&["dimension", "value", "launches"]);
        let c = &self.counts;
        for (dimension, values) in [
            ("rocket_family", &c.rocket_family),
            ("rocket", &c.rocket),
            ("provider", &c.provider),
            ("pad", &c.pad),
            ("country", &c.country),
            ("status", &c.status),
        ] {
            for v in values {
                counts.row(vec![dimension.into(), opt(&v.value), v.count.to_string()]);
            }
        }
        let mut intervals = CsvTable::new(&[
            "from_id",
            "from_name",
            "from_net",
            "to_id",
            "to_name",
            "to_net",
            "gap_seconds",
        ]);
        for g in &self.intervals.gaps {
            intervals.row(vec![
                g.from_id.clone(),
                g.from_name.clone(),
                rfc3339(g.from_net),
                g.to_id.clone(),
                g.to_name.clone(),
                rfc3339(g.to_net),
                g.seconds.to_string(),
            ]);
        }
        write_files(
            dir,
            vec![
                json_file("launches.json", self)?,
                launches.file("launches.csv")?,
                counts.file("launches_counts.csv")?,
                intervals.file("launches_intervals.csv")?,
                markdown_file("launches.md", self.to_markdown()),
            ],
        )
    }
}

/// Which side of the logical date a NET falls on, if it is in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Before,
    After,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Before => "before",
            Side::After => "after",
        }
    }
}

fn window_side(net: DateTime<Utc>, logical_date: DateTime<Utc>) -> Option<Side> {
    let window = Duration::days(WINDOW_DAYS);
    if net >= logical_date - window && net < logical_date {
        Some(Side::Before)
    } else if net >= logical_date && net < logical_date + window {
        Some(Side::After)
    } else {
        None
    }
}

fn launch_row(l: &Launch) -> LaunchRow {
    let (tz, zone_fallback) = match l.pad_timezone.as_deref().map(str::trim) {
        None | Some("") => (Tz::UTC, Some(ZoneFallback::NotGiven)),
        Some(name) => match name.parse::<Tz>() {
            Ok(tz) => (tz, None),
            Err(_) => (
                Tz::UTC,
                Some(ZoneFallback::Unknown {
                    given: name.to_owned(),
                }),
            ),
        },
    };
    let local = l.net.map(|net| net.with_timezone(&tz));
    LaunchRow {
        id: l.id.clone(),
        name: l.name.clone(),
        net: l.net,
        net_local: local.map(|t| t.fixed_offset().to_rfc3339_opts(SecondsFormat::Secs, false)),
        zone: tz.name().to_owned(),
        // chrono-tz has no abbreviation for zones whose only name is their offset (`-03`).
        zone_abbreviation: local.and_then(|t| t.offset().abbreviation().map(str::to_owned)),
        zone_fallback,
        status: l.status.clone(),
        provider: l.provider.clone(),
        rocket: l.rocket.clone(),
        rocket_family: l.rocket_family.clone(),
        pad: l.pad.clone(),
        location: l.location.clone(),
        country: l.country.clone(),
        mission: l.mission.clone(),
        orbit: l.orbit.clone(),
    }
}

/// `2025-10-31 13:41 PDT (UTC-07:00)`, or `2024-03-30 21:52 UTC †` for a fallback.
fn local_cell(row: &LaunchRow) -> String {
    let Some(local) = row
        .net_local
        .as_deref()
        .and_then(|t| DateTime::<FixedOffset>::parse_from_rfc3339(t).ok())
    else {
        return dash();
    };
    let time = local.format("%Y-%m-%d %H:%M");
    let offset = local.format("%:z").to_string();
    match &row.zone_fallback {
        Some(ZoneFallback::NotGiven) => format!("{time} UTC †"),
        Some(ZoneFallback::Unknown { .. }) => format!("{time} UTC ‡"),
        None => match (row.zone_abbreviation.as_deref(), offset.as_str()) {
            (Some(abbr), "+00:00") => format!("{time} {}", text(abbr)),
            (Some(abbr), _) => format!("{time} {} (UTC{offset})", text(abbr)),
            (None, _) => format!("{time} (UTC{offset})"),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Download report
// ---------------------------------------------------------------------------------------------

/// What happened to the pictures of a run's launches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DownloadReport {
    /// Image records (one per launch).
    pub records: usize,
    /// Records whose picture is on disk after the run (downloaded, already present or a
    /// duplicate).
    pub succeeded: usize,
    /// Records whose every source failed.
    pub failed: usize,
    /// Launches without an image URL (neither success nor failure: nothing to fetch).
    pub no_image: usize,
    /// Records per outcome, every outcome listed (zeros included) in a fixed order.
    pub by_outcome: Vec<OutcomeCount>,
    /// Failures per error class (`timeout`, `http_5xx`, …), most frequent first; `null` for
    /// failures without a class.
    pub failures_by_error_class: Vec<Count>,
    /// Failures per host, most frequent first; `null` when the URL had no host.
    pub failures_by_host: Vec<Count>,
    /// The [`SLOWEST_IMAGES`] records with the longest total time, failures included (a
    /// timeout is a slow image too), slowest first.
    pub slowest: Vec<SlowImage>,
    /// Percentiles of the total time (request to file in place), in milliseconds.
    pub total_ms: Percentiles,
    /// Percentiles of the time to the first byte of the body, in milliseconds.
    pub ttfb_ms: Percentiles,
    /// Throughput per host over the images this run transferred.
    pub throughput_by_host: Vec<HostThroughput>,
    /// Pictures per launch, in the order of the records.
    pub per_launch: Vec<LaunchImages>,
    /// Pictures per rocket configuration, most launches first.
    pub per_rocket: Vec<RocketImages>,
    /// Downloads and copies avoided, and the bytes they saved.
    pub duplicates: Duplicates,
}

/// How many records had one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutcomeCount {
    /// The outcome.
    pub outcome: Outcome,
    /// How many records.
    pub count: usize,
}

/// One of the slowest images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowImage {
    /// LL2 launch id.
    pub launch_id: String,
    /// Launch name.
    pub launch_name: String,
    /// What happened.
    pub outcome: Outcome,
    /// The URL's host.
    pub host: Option<String>,
    /// The URL tried last.
    pub url: Option<String>,
    /// Total time, milliseconds.
    pub total_ms: f64,
    /// Time to first byte, milliseconds.
    pub ttfb_ms: Option<f64>,
    /// Bytes received.
    pub bytes: Option<u64>,
}

/// Nearest-rank percentiles of a set of measurements.
///
/// The p-th percentile of `n` sorted values is the value of rank `⌈p/100 · n⌉` (1-based):
/// the smallest measurement such that at least p % of them are at or below it. It is always
/// one of the measurements (never interpolated); with no measurement every percentile is
/// `null`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// How many measurements (records with a finite, non-negative value).
    pub samples: usize,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

impl Percentiles {
    /// The nearest-rank percentiles of `values`; non-finite and negative values are ignored.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Percentiles {
        let mut sorted: Vec<f64> = values
            .into_iter()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .collect();
        sorted.sort_by(f64::total_cmp);
        Percentiles {
            samples: sorted.len(),
            p50: nearest_rank(&sorted, 50),
            p90: nearest_rank(&sorted, 90),
            p99: nearest_rank(&sorted, 99),
        }
    }
}

/// The `percent`-th percentile of ascending `sorted` values by the nearest-rank method.
fn nearest_rank(sorted: &[f64], percent: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // Integer ceiling, so 90 % of 10 is rank 9 exactly (no float rounding).
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Throughput of one host: the bytes it sent over the time its downloads took, summed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostThroughput {
    /// The host.
    pub host: String,
    /// Images transferred from it.
    pub images: usize,
    /// Bytes received from it.
    pub bytes: u64,
    /// Their total times, summed, in seconds.
    pub seconds: f64,
    /// `bytes / seconds`; `null` when `seconds` is 0.
    pub bytes_per_second: Option<f64>,
}

/// The pictures of one launch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaunchImages {
    /// LL2 launch id.
    pub launch_id: String,
    /// Launch name.
    pub launch_name: String,
    /// Rocket configuration.
    pub rocket: Option<String>,
    /// The outcome of each of its records.
    pub outcomes: Vec<Outcome>,
    /// Its records whose picture is on disk.
    pub images: usize,
}

/// The pictures of one rocket configuration's launches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RocketImages {
    /// Rocket configuration; `null` when not given.
    pub rocket: Option<String>,
    /// Distinct launches.
    pub launches: usize,
    /// Records whose picture is on disk.
    pub images: usize,
    /// Records that failed.
    pub failed: usize,
}

/// Work avoided thanks to deduplication, per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Duplicates {
    /// Same URL as another launch of the run: downloaded once (network and disk saved).
    pub duplicate_url: Saved,
    /// Same bytes as a stored picture: downloaded but not stored twice (disk saved).
    pub duplicate_content: Saved,
    /// Stored by an earlier run and still valid: not downloaded again (network saved).
    pub already_present: Saved,
    /// The three together.
    pub total: Saved,
}

/// What one kind of deduplication saved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Saved {
    /// Records of that kind.
    pub images: usize,
    /// Their sizes (the records' `bytes`), summed.
    pub bytes_saved: u64,
    /// Records of that kind without a size (not in `bytes_saved`).
    pub without_size: usize,
}

impl Saved {
    fn add(&mut self, bytes: Option<u64>) {
        self.images += 1;
        match bytes {
            Some(b) => self.bytes_saved += b,
            None => self.without_size += 1,
        }
    }

    fn plus(self, other: Saved) -> Saved {
        Saved {
            images: self.images + other.images,
            bytes_saved: self.bytes_saved + other.bytes_saved,
            without_size: self.without_size + other.without_size,
        }
    }
}

/// Every outcome, in report order: successes, then failures, then nothing to fetch.
const OUTCOMES: [Outcome; 6] = [
    Outcome::Downloaded,
    Outcome::AlreadyPresent,
    Outcome::DuplicateUrl,
    Outcome::DuplicateContent,
    Outcome::Failed,
    Outcome::NoImage,
];

fn outcome_meaning(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Downloaded => "downloaded and stored by this run",
        Outcome::AlreadyPresent => "stored by an earlier run, not downloaded again",
        Outcome::DuplicateUrl => "same URL as another launch: downloaded once",
        Outcome::DuplicateContent => "same bytes as a stored picture: not stored twice",
        Outcome::Failed => "every source failed",
        Outcome::NoImage => "the launch has no image URL",
    }
}

/// A finite, non-negative measurement, or nothing.
fn measured(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite() && *v >= 0.0)
}

impl DownloadReport {
    /// Builds the report of one run's image records.
    pub fn build(records: &[ImageRecord]) -> DownloadReport {
        let count = |o: Outcome| records.iter().filter(|r| r.outcome == o).count();
        let failures = || records.iter().filter(|r| r.outcome == Outcome::Failed);

        let mut slow: Vec<(&ImageRecord, f64)> = records
            .iter()
            .filter_map(|r| measured(r.total_ms).map(|t| (r, t)))
            .collect();
        // Slowest first; ties in record order (the sort is stable).
        slow.sort_by(|a, b| b.1.total_cmp(&a.1));
        let slowest = slow
            .into_iter()
            .take(SLOWEST_IMAGES)
            .map(|(r, total_ms)| SlowImage {
                launch_id: r.launch_id.clone(),
                launch_name: r.launch_name.clone(),
                outcome: r.outcome,
                host: r.host.clone(),
                url: r.url.clone(),
                total_ms,
                ttfb_ms: measured(r.ttfb_ms),
                bytes: r.bytes,
            })
            .collect();

        // Throughput counts what crossed the network in this run: `already_present` bytes were
        // stored earlier (its time is a revalidation) and `duplicate_url` was not fetched.
        let mut hosts: BTreeMap<&str, HostThroughput> = BTreeMap::new();
        for r in records {
            if !matches!(r.outcome, Outcome::Downloaded | Outcome::DuplicateContent) {
                continue;
            }
            let (Some(host), Some(bytes), Some(ms)) = (&r.host, r.bytes, measured(r.total_ms))
            else {
                continue;
            };
            let h = hosts.entry(host).or_insert_with(|| HostThroughput {
                host: host.clone(),
                images: 0,
                bytes: 0,
                seconds: 0.0,
                bytes_per_second: None,
            });
            h.images += 1;
            h.bytes += bytes;
            h.seconds += ms / 1000.0;
        }
        let mut throughput_by_host: Vec<HostThroughput> = hosts
            .into_values()
            .map(|mut h| {
                h.bytes_per_second = (h.seconds > 0.0).then(|| h.bytes as f64 / h.seconds);
                h
            })
            .collect();
        throughput_by_host.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.host.cmp(&b.host)));

        let mut per_launch: Vec<LaunchImages> = Vec::new();
        let mut launch_index: HashMap<&str, usize> = HashMap::new();
        for r in records {
            let i = *launch_index.entry(&r.launch_id).or_insert_with(|| {
                per_launch.push(LaunchImages {
                    launch_id: r.launch_id.clone(),
                    launch_name: r.launch_name.clone(),
                    rocket: r.rocket.clone(),
                    outcomes: Vec::new(),
                    images: 0,
                });
                per_launch.len() - 1
            });
            per_launch[i].outcomes.push(r.outcome);
            per_launch[i].images += usize::from(r.outcome.is_ok());
        }

        let mut rockets: BTreeMap<Option<&str>, (Vec<&str>, usize, usize)> = BTreeMap::new();
        for r in records {
            let entry = rockets.entry(r.rocket.as_deref()).or_default();
            if !entry.0.contains(&r.launch_id.as_str()) {
                entry.0.push(&r.launch_id);
            }
            entry.1 += usize::from(r.outcome.is_ok());
            entry.2 += usize::from(r.outcome == Outcome::Failed);
        }
        let mut per_rocket: Vec<RocketImages> = rockets
            .into_iter()
            .map(|(rocket, (launches, images, failed))| RocketImages {
                rocket: rocket.map(str::to_owned),
                launches: launches.len(),
                images,
                failed,
            })
            .collect();
        per_rocket.sort_by(|a, b| {
            b.launches
                .cmp(&a.launches)
                .then(a.rocket.is_none().cmp(&b.rocket.is_none()))
                .then(a.rocket.cmp(&b.rocket))
        });

        let mut duplicate_url = Saved::default();
        let mut duplicate_content = Saved::default();
        let mut already_present = Saved::default();
        for r in records {
            match r.outcome {
                Outcome::DuplicateUrl => duplicate_url.add(r.bytes),
                Outcome::DuplicateContent => duplicate_content.add(r.bytes),
                Outcome::AlreadyPresent => already_present.add(r.bytes),
                _ => {}
            }
        }

        DownloadReport {
            records: records.len(),
            succeeded: records.iter().filter(|r| r.outcome.is_ok()).count(),
            failed: count(Outcome::Failed),
            no_image: count(Outcome::NoImage),
            by_outcome: OUTCOMES
                .iter()
                .map(|&outcome| OutcomeCount {
                    outcome,
                    count: count(outcome),
                })
                .collect(),
            failures_by_error_class: tally(failures().map(|r| r.error_class.clone())),
            failures_by_host: tally(failures().map(|r| r.host.clone())),
            slowest,
            total_ms: Percentiles::of(records.iter().filter_map(|r| r.total_ms)),
            ttfb_ms: Percentiles::of(records.iter().filter_map(|r| r.ttfb_ms)),
            throughput_by_host,
            per_launch,
            per_rocket,
            duplicates: Duplicates {
                duplicate_url,
                duplicate_content,
                already_present,
                total: duplicate_url.plus(duplicate_content).plus(already_present),
            },
        }
    }

    /// The report in Markdown: headings, tables and short explanations.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from("# Image downloads\n\n");
        if self.records == 0 {
            md.push_str(
                "No image records in this run: there were no launches to fetch pictures for.\n",
            );
            return md;
        }
        let _ = writeln!(
            md,
            "{} in this run (one per launch): {} with the picture on disk after the run, {} \
             failed, {} without an image URL.",
            plural(self.records, "image record", "image records"),
            fmt_int(self.succeeded as u64),
            fmt_int(self.failed as u64),
            fmt_int(self.no_image as u64),
        );

        md.push_str("\n## Outcomes\n\n");
        let mut table = Table::new(&[
            ("Outcome", Align::Left),
            ("Images", Align::Right),
            ("Share", Align::Right),
            ("Meaning", Align::Left),
        ]);
        for c in &self.by_outcome {
            table.row(vec![
                code(c.outcome.as_str()),
                fmt_int(c.count as u64),
                fmt_pct(c.count as f64 / self.records as f64),
                outcome_meaning(c.outcome).into(),
            ]);
        }
        table.render(&mut md);

        md.push_str("\n## Failures\n\n");
        if self.failed == 0 {
            md.push_str("No download failed.\n");
        } else {
            md.push_str(
                "A failure is counted once per launch, under the error of the last source \
                 tried.\n",
            );
            for (heading, column, counts, none) in [
                (
                    "By error class",
                    "Error class",
                    &self.failures_by_error_class,
                    "*unclassified*",
                ),
                ("By host", "Host", &self.failures_by_host, "*no host*"),
            ] {
                let _ = writeln!(md, "\n### {heading}\n");
                let mut table = Table::new(&[(column, Align::Left), ("Failures", Align::Right)]);
                for c in counts {
                    table.row(vec![
                        c.value.as_deref().map_or_else(|| none.to_owned(), code),
                        fmt_int(c.count as u64),
                    ]);
                }
                table.render(&mut md);
            }
        }

        let _ = writeln!(
            md,
            "\n## Slowest images\n\nThe {} with the longest total time (from the request to \
             the file in place), failures included.\n",
            plural(self.slowest.len(), "picture", "pictures"),
        );
        if self.slowest.is_empty() {
            md.push_str("No picture has a measured time.\n");
        } else {
            let mut table = Table::new(&[
                ("#", Align::Right),
                ("Launch", Align::Left),
                ("Host", Align::Left),
                ("Outcome", Align::Left),
                ("Total", Align::Right),
                ("First byte", Align::Right),
                ("Size", Align::Right),
            ]);
            for (i, s) in self.slowest.iter().enumerate() {
                table.row(vec![
                    (i + 1).to_string(),
                    text(&s.launch_name),
                    s.host.as_deref().map_or_else(dash, code),
                    code(s.outcome.as_str()),
                    fmt_ms(s.total_ms),
                    s.ttfb_ms.map_or_else(dash, fmt_ms),
                    s.bytes.map_or_else(dash, fmt_bytes),
                ]);
            }
            table.render(&mut md);
        }

        md.push_str(
            "\n## Response times\n\nPercentiles by the nearest-rank method: the p-th \
             percentile is the smallest measured time such that at least p % of the \
             measurements are at or below it. Every record with a measurement counts, failed \
             requests included.\n\n",
        );
        let mut table = Table::new(&[
            ("Measure", Align::Left),
            ("Samples", Align::Right),
            ("p50", Align::Right),
            ("p90", Align::Right),
            ("p99", Align::Right),
        ]);
        for (name, p) in [
            ("Total time", &self.total_ms),
            ("Time to first byte", &self.ttfb_ms),
        ] {
            table.row(vec![
                name.into(),
                fmt_int(p.samples as u64),
                p.p50.map_or_else(dash, fmt_ms),
                p.p90.map_or_else(dash, fmt_ms),
                p.p99.map_or_else(dash, fmt_ms),
            ]);
        }
        table.render(&mut md);

        md.push_str(
            "\n## Throughput per host\n\nBytes received from each host over the summed total \
             times of its downloads, for the pictures this run transferred (`downloaded` and \
             `duplicate_content`).\n\n",
        );
        if self.throughput_by_host.is_empty() {
            md.push_str("No picture was transferred.\n");
        } else {
            let mut table = Table::new(&[
                ("Host", Align::Left),
                ("Images", Align::Right),
                ("Bytes", Align::Right),
                ("Time", Align::Right),
                ("Throughput", Align::Right),
            ]);
            for h in &self.throughput_by_host {
                table.row(vec![
                    code(&h.host),
                    fmt_int(h.images as u64),
                    fmt_bytes(h.bytes),
                    fmt_ms(h.seconds * 1000.0),
                    h.bytes_per_second.map_or_else(dash, fmt_rate),
                ]);
            }
            table.render(&mut md);
        }

        md.push_str(
            "\n## Images per launch\n\n*Images* counts the pictures on disk after the run.\n\n",
        );
        let mut table = Table::new(&[
            ("Launch", Align::Left),
            ("Rocket", Align::Left),
            ("Outcome", Align::Left),
            ("Images", Align::Right),
        ]);
        for l in &self.per_launch {
            let outcomes: Vec<String> = l.outcomes.iter().map(|o| code(o.as_str())).collect();
            table.row(vec![
                text(&l.launch_name),
                l.rocket.as_deref().map_or_else(not_given, text),
                outcomes.join(", "),
                fmt_int(l.images as u64),
            ]);
        }
        table.render(&mut md);

        md.push_str("\n## Images per rocket\n\n");
        let mut table = Table::new(&[
            ("Rocket", Align::Left),
            ("Launches", Align::Right),
            ("Images", Align::Right),
            ("Failed", Align::Right),
        ]);
        for r in &self.per_rocket {
            table.row(vec![
                r.rocket.as_deref().map_or_else(not_given, text),
                fmt_int(r.launches as u64),
                fmt_int(r.images as u64),
                fmt_int(r.failed as u64),
            ]);
        }
        table.render(&mut md);

        let d = &self.duplicates;
        md.push_str(
            "\n## Duplicates avoided\n\nBytes saved are the sizes of the pictures concerned: a \
             `duplicate_url` or `already_present` picture was not downloaded, a \
             `duplicate_content` one was downloaded but not stored twice.\n\n",
        );
        let mut table = Table::new(&[
            ("Kind", Align::Left),
            ("Images", Align::Right),
            ("Bytes saved", Align::Right),
        ]);
        for (kind, saved) in [
            (code("duplicate_url"), d.duplicate_url),
            (code("duplicate_content"), d.duplicate_content),
            (code("already_present"), d.already_present),
            ("**Total**".to_owned(), d.total),
        ] {
            table.row(vec![
                kind,
                fmt_int(saved.images as u64),
                fmt_bytes(saved.bytes_saved),
            ]);
        }
        table.render(&mut md);
        if d.total.without_size > 0 {
            let _ = writeln!(
                md,
                "\n{} without a recorded size {} not in the bytes saved.",
                plural(d.total.without_size, "picture", "pictures"),
                if d.total.without_size == 1 {
                    "is"
                } else {
                    "are"
                },
            );
        }
        md
    }

    /// Writes `downloads.json`, `downloads.csv`, `downloads_slowest.csv`,
    /// `downloads_summary.csv` and `downloads.md` into `dir` (created if missing), each
    /// atomically; returns their paths.
    ///
    /// `downloads.csv` has one row per launch (its outcomes joined with `;`);
    /// `downloads_summary.csv` holds the report's other tables in long form,
    /// `table,key,metric,value`, e.g. `total_ms,p90,ms,950`, so one file serves them all.
    ///
    /// # Errors
    ///
    /// [`ReportError::Write`] when a file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        let mut summary = CsvTable::new(&["table", "key", "metric", "value"]);
        let mut add = |table: &str, key: &str, metric: &str, value: String| {
            summary.row(vec![table.into(), key.into(), metric.into(), value]);
        };
        for c in &self.by_outcome {
            add("outcome", c.outcome.as_str(), "images", c.count.to_string());
        }
        for c in &self.failures_by_error_class {
            add(
                "failures_by_error_class",
                &opt(&c.value),
                "failures",
                c.count.to_string(),
            );
        }
        for c in &self.failures_by_host {
            add(
                "failures_by_host",
                &opt(&c.value),
                "failures",
                c.count.to_string(),
            );
        }
        for (name, p) in [("total_ms", &self.total_ms), ("ttfb_ms", &self.ttfb_ms)] {
            add(name, "samples", "count", p.samples.to_string());
            for (key, v) in [("p50", p.p50), ("p90", p.p90), ("p99", p.p99)] {
                add(
                    name,
                    key,
                    "ms",
                    v.map(|v| v.to_string()).unwrap_or_default(),
                );
            }
        }
        for h in &self.throughput_by_host {
            add(
                "throughput_by_host",
                &h.host,
                "images",
                h.images.to_string(),
            );
            add("throughput_by_host", &h.host, "bytes", h.bytes.to_string());
            add(
                "throughput_by_host",
                &h.host,
                "seconds",
                h.seconds.to_string(),
            );
            let bps = h
                .bytes_per_second
                .map(|v| v.to_string())
                .unwrap_or_default();
            add("throughput_by_host", &h.host, "bytes_per_second", bps);
        }
        for r in &self.per_rocket {
            let key = opt(&r.rocket);
            add("per_rocket", &key, "launches", r.launches.to_string());
            add("per_rocket", &key, "images", r.images.to_string());
            add("per_rocket", &key, "failed", r.failed.to_string());
        }
        let d = &self.duplicates;
        for (kind, s) in [
            ("duplicate_url", d.duplicate_url),
            ("duplicate_content", d.duplicate_content),
            ("already_present", d.already_present),
            ("total", d.total),
        ] {
            add("duplicates", kind, "images", s.images.to_string());
            add("duplicates", kind, "bytes_saved", s.bytes_saved.to_string());
        }
        let mut slowest = CsvTable::new(&[
            "rank",
            "launch_id",
            "launch_name",
            "outcome",
            "host",
            "total_ms",
            "ttfb_ms",
            "bytes",
        ]);
        for (i, s) in self.slowest.iter().enumerate() {
            slowest.row(vec![
                (i + 1).to_string(),
                s.launch_id.clone(),
                s.launch_name.clone(),
                s.outcome.as_str().into(),
                opt(&s.host),
                s.total_ms.to_string(),
                s.ttfb_ms.map(|v| v.to_string()).unwrap_or_default(),
                s.bytes.map(|v| v.to_string()).unwrap_or_default(),
            ]);
        }
        let mut launches =
            CsvTable::new(&["launch_id", "launch_name", "rocket", "outcomes", "images"]);
        for l in &self.per_launch {
            let outcomes: Vec<&str> = l.outcomes.iter().map(|o| o.as_str()).collect();
            launches.row(vec![
                l.launch_id.clone(),
                l.launch_name.clone(),
                opt(&l.rocket),
                outcomes.join(";"),
                l.images.to_string(),
            ]);
        }
        write_files(
            dir,
            vec![
                json_file("downloads.json", self)?,
                launches.file("downloads.csv")?,
                summary.file("downloads_summary.csv")?,
                slowest.file("downloads_slowest.csv")?,
                markdown_file("downloads.md", self.to_markdown()),
            ],
        )
    }
}

// ---------------------------------------------------------------------------------------------
// History report
// ---------------------------------------------------------------------------------------------

/// One run of the DAG as [`HistoryReport::build`] reads it: the run, every try of its task
/// instances, and the image records its images task returned.
#[derive(Debug, Clone, PartialEq)]
pub struct RunHistory {
    /// The run.
    pub run: DagRunRecord,
    /// Every try of every task instance of the run (any order).
    pub task_instances: Vec<TaskInstanceRecord>,
    /// The output of the images task; `None` when it has none (it did not succeed) or the
    /// output is not image records.
    pub images: Option<Vec<ImageRecord>>,
}

/// The DAG's recent history: images per day, run success rate, task durations.
///
/// "The last 30 days" are the [`HISTORY_DAYS`] calendar days (UTC) ending with the day of
/// `now`, by each run's logical date (so a backfill counts on the days it covers, not the
/// day it ran).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryReport {
    /// The DAG.
    pub dag_id: String,
    /// The task whose output is the run's image records.
    pub images_task_id: String,
    /// When the report was made.
    pub now: DateTime<Utc>,
    /// The first day of the period (UTC).
    pub first_day: NaiveDate,
    /// The last day of the period, the day of `now` (UTC).
    pub last_day: NaiveDate,
    /// Every day of the period, oldest first, zeros included.
    pub images_per_day: Vec<DayImages>,
    /// Runs of the period without image records.
    pub runs_without_images: usize,
    /// Success rate of the DAG's runs.
    pub success_rate: SuccessRates,
    /// The tasks of the runs of the period, roughly in the order they run (by their earliest
    /// start relative to their run's start), ties by id.
    pub tasks: Vec<String>,
    /// The runs of the period with their task durations, oldest logical date first.
    pub runs: Vec<RunDurations>,
}

/// Pictures downloaded on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayImages {
    /// The day (UTC) of the runs' logical dates.
    pub date: NaiveDate,
    /// Runs with a logical date on that day.
    pub runs: usize,
    /// Image records with outcome `downloaded` in those runs.
    pub images_downloaded: usize,
}

/// The DAG's run success rate, overall and over the last 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SuccessRates {
    /// Every recorded run.
    pub overall: SuccessRate,
    /// Runs whose logical date is in the period.
    pub last_30_days: SuccessRate,
}

/// Finished runs and how many succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SuccessRate {
    /// Runs considered, finished or not.
    pub runs: usize,
    /// Runs that finished (`success` or `failed`; `queued` and `running` ones have not).
    pub finished: usize,
    /// Runs that succeeded.
    pub success: usize,
    /// Runs that failed.
    pub failed: usize,
    /// `success / finished`, from 0 to 1; `null` when no run finished.
    pub rate: Option<f64>,
}

impl SuccessRate {
    fn of<'a>(runs: impl Iterator<Item = &'a DagRunRecord>) -> SuccessRate {
        let (mut all, mut success, mut failed) = (0, 0, 0);
        for run in runs {
            all += 1;
            // Not an exhaustive match: the store's state enum may grow.
            if run.state == RunStateRecord::Success {
                success += 1;
            } else if run.state == RunStateRecord::Failed {
                failed += 1;
            }
        }
        let finished = success + failed;
        SuccessRate {
            runs: all,
            finished,
            success,
            failed,
            rate: (finished > 0).then(|| success as f64 / finished as f64),
        }
    }
}

/// One run's task durations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDurations {
    /// The run.
    pub run_id: String,
    /// Its logical date.
    pub logical_date: DateTime<Utc>,
    /// Its state.
    pub state: RunStateRecord,
    /// Image records with outcome `downloaded`; `null` when the run has no image records.
    pub images_downloaded: Option<usize>,
    /// Its tasks, in [`HistoryReport::tasks`] order (tasks it never reached are absent).
    pub tasks: Vec<TaskDuration>,
}

/// How long one task took in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskDuration {
    /// The task.
    pub task_id: String,
    /// For a mapped task, its number of elements; `null` for a task that is not mapped.
    pub map_elements: Option<usize>,
    /// The duration of its last try, in seconds; for a mapped task, the **sum** over its
    /// elements of their last try's duration (the time spent on the task — not the wall-clock
    /// time, as elements run concurrently). `null` when no (last) try has ended.
    pub seconds: Option<f64>,
}

/// The first and last day of the period ending on `now`'s day.
fn history_period(now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let last = now.date_naive();
    (last - Duration::days(HISTORY_DAYS - 1), last)
}

/// Reads a run's image records from the outputs of its `task_id`: a `Vec<ImageRecord>`, or,
/// for a mapped task, one record (or one list) per element, in map-index order.
fn images_from_outputs(
    run_id: &str,
    task_id: &str,
    outputs: &[(String, i32, String)],
) -> Option<Vec<ImageRecord>> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Output {
        Many(Vec<ImageRecord>),
        One(Box<ImageRecord>),
    }
    let mut records: Option<Vec<ImageRecord>> = None;
    for (_, map_index, json) in outputs.iter().filter(|(t, ..)| t == task_id) {
        match serde_json::from_str::<Output>(json) {
            Ok(Output::Many(many)) => records.get_or_insert_with(Vec::new).extend(many),
            Ok(Output::One(one)) => records.get_or_insert_with(Vec::new).push(*one),
            // A report is no reason to fail: the run counts as one without records.
            Err(err) => tracing::warn!(
                run_id,
                task_id,
                map_index,
                cause = %err,
                "the task's output is not image records; left out of the history report"
            ),
        }
    }
    records
}

impl HistoryReport {
    /// Reads the history of `dag_id` from `store` and builds its report: every run for the
    /// overall success rate, the task instances and image records (the outputs of
    /// `images_task_id`) of the runs of the last 30 days.
    ///
    /// # Errors
    ///
    /// [`ReportError::History`] when the store cannot be read.
    pub async fn load(
        store: &Store,
        dag_id: &str,
        images_task_id: &str,
        now: DateTime<Utc>,
    ) -> Result<HistoryReport, ReportError> {
        let fail = |cause| ReportError::History {
            dag_id: dag_id.to_owned(),
            cause,
        };
        // One narrow query for every run; the per-run reads only for the period.
        let runs = store
            .list_runs(Some(dag_id), None, u32::MAX)
            .await
            .map_err(fail)?;
        let (first, last) = history_period(now);
        let mut history = Vec::with_capacity(runs.len());
        for run in runs {
            let day = run.logical_date.date_naive();
            let (task_instances, images) = if first <= day && day <= last {
                let tries = store
                    .task_instances(dag_id, &run.run_id)
                    .await
                    .map_err(fail)?;
                let outputs = store.load_xcoms(dag_id, &run.run_id).await.map_err(fail)?;
                let images = images_from_outputs(&run.run_id, images_task_id, &outputs);
                (tries, images)
            } else {
                (Vec::new(), None)
            };
            history.push(RunHistory {
                run,
                task_instances,
                images,
            });
        }
        Ok(HistoryReport::build(dag_id, images_task_id, now, &history))
    }

    /// Builds the report from runs already read (runs of other DAGs are ignored). Only the
    /// task instances and images of runs in the period are used.
    pub fn build(
        dag_id: &str,
        images_task_id: &str,
        now: DateTime<Utc>,
        runs: &[RunHistory],
    ) -> HistoryReport {
        let (first_day, last_day) = history_period(now);
        let runs: Vec<&RunHistory> = runs.iter().filter(|h| h.run.dag_id == dag_id).collect();
        let mut recent: Vec<&RunHistory> = runs
            .iter()
            .copied()
            .filter(|h| {
                let day = h.run.logical_date.date_naive();
                first_day <= day && day <= last_day
            })
            .collect();
        recent.sort_by(|a, b| {
            (a.run.logical_date, &a.run.run_id).cmp(&(b.run.logical_date, &b.run.run_id))
        });
        let downloaded = |h: &RunHistory| {
            h.images.as_ref().map(|images| {
                images
                    .iter()
                    .filter(|r| r.outcome == Outcome::Downloaded)
                    .count()
            })
        };

        let mut days: BTreeMap<NaiveDate, DayImages> = first_day
            .iter_days()
            .take_while(|d| *d <= last_day)
            .map(|date| {
                let day = DayImages {
                    date,
                    runs: 0,
                    images_downloaded: 0,
                };
                (date, day)
            })
            .collect();
        for h in &recent {
            if let Some(day) = days.get_mut(&h.run.logical_date.date_naive()) {
                day.runs += 1;
                day.images_downloaded += downloaded(h).unwrap_or(0);
            }
        }

        // Column order: how soon after its run's start a task first started, over the period.
        let mut first_start: HashMap<&str, i64> = HashMap::new();
        for h in &recent {
            for ti in &h.task_instances {
                let offset = (ti.start - h.run.start)
                    .num_microseconds()
                    .unwrap_or(i64::MAX);
                first_start
                    .entry(&ti.task_id)
                    .and_modify(|o| *o = (*o).min(offset))
                    .or_insert(offset);
            }
        }
        let mut tasks: Vec<&str> = first_start.keys().copied().collect();
        tasks.sort_by_key(|t| (first_start[t], *t));

        HistoryReport {
            dag_id: dag_id.to_owned(),
            images_task_id: images_task_id.to_owned(),
            now,
            first_day,
            last_day,
            images_per_day: days.into_values().collect(),
            runs_without_images: recent.iter().filter(|h| h.images.is_none()).count(),
            success_rate: SuccessRates {
                overall: SuccessRate::of(runs.iter().map(|h| &h.run)),
                last_30_days: SuccessRate::of(recent.iter().map(|h| &h.run)),
            },
            runs: recent
                .iter()
                .map(|h| RunDurations {
                    run_id: h.run.run_id.clone(),
                    logical_date: h.run.logical_date,
                    state: h.run.state,
                    images_downloaded: downloaded(h),
                    tasks: task_durations(&h.task_instances, &tasks),
                })
                .collect(),
            tasks: tasks.into_iter().map(str::to_owned).collect(),
        }
    }

    /// The report in Markdown: headings, tables and short explanations.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# Run history of {}\n\n\
             As of {}. *The last {HISTORY_DAYS} days* are the {HISTORY_DAYS} calendar days (UTC) \
             from {} to {}, by each run's logical date.",
            code(&self.dag_id),
            fmt_utc(self.now),
            self.first_day,
            self.last_day,
        );

        md.push_str("\n## Run success rate\n\n");
        let mut table = Table::new(&[
            ("Runs", Align::Left),
            ("Recorded", Align::Right),
            ("Finished", Align::Right),
            ("Succeeded", Align::Right),
            ("Failed", Align::Right),
            ("Success rate", Align::Right),
        ]);
        for (name, r) in [
            (
                format!("Last {HISTORY_DAYS} days"),
                &self.success_rate.last_30_days,
            ),
            ("All recorded runs".to_owned(), &self.success_rate.overall),
        ] {
            table.row(vec![
                name,
                fmt_int(r.runs as u64),
                fmt_int(r.finished as u64),
                fmt_int(r.success as u64),
                fmt_int(r.failed as u64),
                r.rate.map_or_else(dash, fmt_pct),
            ]);
        }
        table.render(&mut md);
        md.push_str(
            "\nThe success rate is succeeded / finished runs; queued and running runs have not \
             finished and are not counted.\n",
        );

        let _ = write!(
            md,
            "\n## Images downloaded per day\n\n\
             Pictures with outcome `downloaded` in the output of task {}, by the day of the \
             run's logical date (pictures already present or duplicates were not downloaded).",
            code(&self.images_task_id),
        );
        if self.runs_without_images > 0 {
            let _ = write!(
                md,
                " {} of the period {} no image records (the task did not succeed, or its \
                 output is not image records).",
                plural(self.runs_without_images, "run", "runs"),
                if self.runs_without_images == 1 {
                    "has"
                } else {
                    "have"
                },
            );
        }
        md.push_str("\n\n");
        let most = self
            .images_per_day
            .iter()
            .map(|d| d.images_downloaded)
            .max()
            .unwrap_or(0);
        let mut table = Table::new(&[
            ("Day", Align::Left),
            ("Runs", Align::Right),
            ("Images downloaded", Align::Right),
            ("", Align::Left),
        ]);
        for d in &self.images_per_day {
            table.row(vec![
                d.date.to_string(),
                fmt_int(d.runs as u64),
                fmt_int(d.images_downloaded as u64),
                bar(d.images_downloaded, most),
            ]);
        }
        table.render(&mut md);

        md.push_str(
            "\n## Task durations\n\nEach task's duration in its last try, per run of the \
             period, oldest first. A mapped task shows the sum over its elements' last tries, \
             with the number of elements (×n): the time spent on it, not the wall-clock time, \
             as elements run concurrently. — means the task did not run, or its last try has \
             not ended.\n\n",
        );
        if self.runs.is_empty() {
            md.push_str("No run in the period.\n");
            return md;
        }
        let mut columns = vec![
            ("Logical date".to_owned(), Align::Left),
            ("Run".to_owned(), Align::Left),
            ("State".to_owned(), Align::Left),
            ("Images".to_owned(), Align::Right),
        ];
        columns.extend(self.tasks.iter().map(|t| (code(t), Align::Right)));
        let mut table = Table {
            header: columns,
            rows: Vec::new(),
        };
        for run in &self.runs {
            let mut row = vec![
                fmt_utc(run.logical_date),
                code(&run.run_id),
                code(run.state.as_str()),
                run.images_downloaded
                    .map_or_else(dash, |n| fmt_int(n as u64)),
            ];
            for task in &self.tasks {
                let cell = match run.tasks.iter().find(|t| &t.task_id == task) {
                    Some(t) => {
                        let time = t.seconds.map_or_else(dash, |s| fmt_ms(s * 1000.0));
                        match t.map_elements {
                            Some(n) => format!("{time} (×{n})"),
                            None => time,
                        }
                    }
                    None => dash(),
                };
                row.push(cell);
            }
            table.row(row);
        }
        table.render(&mut md);
        md
    }

    /// Writes `history.json`, `history.csv` (images per day), `history_success_rate.csv`,
    /// `history_durations.csv` (one row per run and task) and `history.md` into `dir`
    /// (created if missing), each atomically; returns their paths.
    ///
    /// # Errors
    ///
    /// [`ReportError::Write`] when a file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        let mut days = CsvTable::new(&["date", "runs", "images_downloaded"]);
        for d in &self.images_per_day {
            days.row(vec![
                d.date.to_string(),
                d.runs.to_string(),
                d.images_downloaded.to_string(),
            ]);
        }
        let mut rates = CsvTable::new(&["scope", "runs", "finished", "success", "failed", "rate"]);
        for (scope, r) in [
            ("last_30_days", &self.success_rate.last_30_days),
            ("overall", &self.success_rate.overall),
        ] {
            rates.row(vec![
                scope.into(),
                r.runs.to_string(),
                r.finished.to_string(),
                r.success.to_string(),
                r.failed.to_string(),
                r.rate.map(|v| v.to_string()).unwrap_or_default(),
            ]);
        }
        let mut durations = CsvTable::new(&[
            "logical_date",
            "run_id",
            "run_state",
            "task_id",
            "map_elements",
            "seconds",
        ]);
        for run in &self.runs {
            for t in &run.tasks {
                durations.row(vec![
                    rfc3339(run.logical_date),
                    run.run_id.clone(),
                    run.state.as_str().into(),
                    t.task_id.clone(),
                    t.map_elements.map(|n| n.to_string()).unwrap_or_default(),
                    t.seconds.map(|s| s.to_string()).unwrap_or_default(),
                ]);
            }
        }
        write_files(
            dir,
            vec![
                json_file("history.json", self)?,
                days.file("history.csv")?,
                rates.file("history_success_rate.csv")?,
                durations.file("history_durations.csv")?,
                markdown_file("history.md", self.to_markdown()),
            ],
        )
    }
}

/// Each of `tasks` that has tries in `tries`, with the duration of its last try (summed over
/// the elements of a mapped task).
fn task_durations(tries: &[TaskInstanceRecord], tasks: &[&str]) -> Vec<TaskDuration> {
    let mut last: BTreeMap<(&str, i32), &TaskInstanceRecord> = BTreeMap::new();
    for ti in tries {
        last.entry((&ti.task_id, ti.map_index))
            .and_modify(|t| {
                if ti.try_number > t.try_number {
                    *t = ti;
                }
            })
            .or_insert(ti);
    }
    let mut out = Vec::new();
    for &task in tasks {
        let instances: Vec<&TaskInstanceRecord> = last
            .values()
            .copied()
            .filter(|t| t.task_id == task)
            .collect();
        if instances.is_empty() {
            continue;
        }
        // A mapped task may also have a row at NOT_MAPPED (e.g. skipped over an empty list):
        // its elements, when there are any, are what ran.
        let elements: Vec<&TaskInstanceRecord> = instances
            .iter()
            .copied()
            .filter(|t| t.map_index != NOT_MAPPED)
            .collect();
        let (map_elements, counted) = if elements.is_empty() {
            (None, instances)
        } else {
            (Some(elements.len()), elements)
        };
        let ended: Vec<f64> = counted
            .iter()
            .filter_map(|t| t.duration.map(|d| d.as_secs_f64()))
            .collect();
        out.push(TaskDuration {
            task_id: task.to_owned(),
            map_elements,
            seconds: (!ended.is_empty()).then(|| ended.iter().sum()),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Shared helpers: counting, Markdown, numbers, files
// ---------------------------------------------------------------------------------------------

/// Counts each value, most frequent first, ties by value, `None` last.
fn tally(values: impl Iterator<Item = Option<String>>) -> Vec<Count> {
    let mut counts: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut out: Vec<Count> = counts
        .into_iter()
        .map(|(value, count)| Count { value, count })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.value.is_none().cmp(&b.value.is_none()))
            .then(a.value.cmp(&b.value))
    });
    out
}

/// The median of ascending `sorted` values: the middle one, or the mean of the two middle ones.
fn median(sorted: &[i64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if !n.is_multiple_of(2) => Some(sorted[n / 2] as f64),
        _ => Some((sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0),
    }
}

#[derive(Debug, Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// A GitHub-flavoured Markdown table; cells are Markdown already (see [`text`], [`code`]).
struct Table {
    header: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[(&str, Align)]) -> Table {
        Table {
            header: header.iter().map(|(h, a)| ((*h).to_owned(), *a)).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len(), "a row per column");
        self.rows.push(cells);
    }

    fn render(&self, md: &mut String) {
        let line = |md: &mut String, cells: &mut dyn Iterator<Item = &str>| {
            md.push('|');
            for cell in cells {
                md.push(' ');
                md.push_str(cell);
                md.push_str(" |");
            }
            md.push('\n');
        };
        line(md, &mut self.header.iter().map(|(h, _)| h.as_str()));
        line(
            md,
            &mut self.header.iter().map(|(_, a)| match a {
                Align::Left => "---",
                Align::Right => "---:",
            }),
        );
        for row in &self.rows {
            line(md, &mut row.iter().map(String::as_str));
        }
    }
}

/// Plain text as Markdown: characters that Markdown or a table cell would interpret are
/// escaped (LL2 names contain `|`, as in `Falcon 9 Block 5 | Starlink …`), line breaks become
/// spaces.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            // NUL, escape sequences and other controls: nothing a reader should get.
            c if c.is_control() => {}
            _ => out.push(c),
        }
    }
    out
}

/// An identifier (host, error class, task id) as inline code, or as escaped text if it
/// contains a backtick; `|` is escaped either way, as table cells need.
fn code(s: &str) -> String {
    if s.is_empty() || s.contains('`') || s.chars().any(char::is_control) {
        return text(s);
    }
    format!("`{}`", s.replace('|', "\\|"))
}

fn opt_text(s: &Option<String>) -> String {
    s.as_deref().map_or_else(dash, text)
}

fn dash() -> String {
    "—".to_owned()
}

fn not_given() -> String {
    "*not given*".to_owned()
}

/// An optional value as a CSV cell: empty when absent.
fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

/// `2025-11-02 00:00 UTC`: to the minute (the JSON and CSV keep the seconds).
fn fmt_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `2025-11-02T00:00:00Z`.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `1,234,567`.
fn fmt_int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 launch`, `1,024 launches`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", fmt_int(n as u64), if n == 1 { one } else { many })
}

/// `66.7%`.
fn fmt_pct(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{:.1}%", ratio * 100.0)
    } else {
        dash()
    }
}

/// Binary units: `512 B`, `200.0 KiB`, `1.5 MiB`.
fn fmt_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    scaled(bytes as f64, "")
}

/// `850 B/s`, `1.5 MiB/s`.
fn fmt_rate(bytes_per_second: f64) -> String {
    if bytes_per_second < 1024.0 {
        return format!("{bytes_per_second:.0} B/s");
    }
    scaled(bytes_per_second, "/s")
}

fn scaled(mut value: f64, suffix: &str) -> String {
    let mut unit = "B";
    for next in ["KiB", "MiB", "GiB", "TiB"] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}{suffix}")
}

/// A response time: `4.2 ms`, `180 ms`, `1.25 s`, `2 min 5 s`.
fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() {
        dash()
    } else if ms < 9.95 {
        format!("{ms:.1} ms")
    } else if ms < 999.5 {
        format!("{ms:.0} ms")
    } else if ms < 59_995.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        fmt_span((ms / 1000.0).round() as i64)
    }
}

/// A span of whole seconds in its two largest units: `42 s`, `3 min 5 s`, `7 h 12 min`,
/// `2 d 3 h` (truncated; the JSON and CSV have the exact seconds).
fn fmt_span(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, s) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

/// A bar of up to 20 blocks, proportional to `value / max` (at least one block for a
/// non-zero value).
fn bar(value: usize, max: usize) -> String {
    if value == 0 || max == 0 {
        return String::new();
    }
    let blocks = (value * 20).div_ceil(max).clamp(1, 20);
    "█".repeat(blocks)
}

/// A CSV table built in memory, then encoded as one file.
struct CsvTable {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl CsvTable {
    fn new(header: &[&'static str]) -> CsvTable {
        CsvTable {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; every cell goes through [`csv_cell`].
    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(csv_cell).collect());
    }

    fn file(&self, name: &'static str) -> Result<ReportFile, ReportError> {
        let encode = |message: String| ReportError::Encode {
            name: name.to_owned(),
            message,
        };
        // Not `flexible`: a row with the wrong number of cells is a bug, reported as such.
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .write_record(&self.header)
            .map_err(|e| encode(e.to_string()))?;
        for row in &self.rows {
            writer
                .write_record(row)
                .map_err(|e| encode(e.to_string()))?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| encode(e.error().to_string()))?;
        Ok(ReportFile { name, bytes })
    }
}

/// A cell made safe for a spreadsheet (OWASP's CSV injection advice): control characters are
/// removed (NUL, escape sequences; line breaks become spaces), and text that a spreadsheet
/// would run as a formula — starting with `=`, `+`, `-`, `@`, a tab or a carriage return — gets
/// a leading `'`, which makes it text. A number (`-3.5`, `+1e3`) stays a number.
fn csv_cell(cell: String) -> String {
    let formula = match cell.chars().next() {
        Some('\t' | '\r') => true,
        Some('=' | '+' | '-' | '@') => cell.trim().parse::<f64>().is_err(),
        _ => false,
    };
    let cell = if cell.chars().any(char::is_control) {
        cell.chars()
            .filter_map(|c| match c {
                '\n' | '\r' | '\t' => Some(' '),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect()
    } else {
        cell
    };
    if formula { format!("'{cell}") } else { cell }
}

/// One file of a report: its name in the report directory and its content.
struct ReportFile {
    name: &'static str,
    bytes: Vec<u8>,
}

fn json_file(name: &'static str, report: &impl Serialize) -> Result<ReportFile, ReportError> {
    let mut bytes = serde_json::to_vec_pretty(report).map_err(|e| ReportError::Encode {
        name: name.to_owned(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(ReportFile { name, bytes })
}

fn markdown_file(name: &'static str, markdown: String) -> ReportFile {
    ReportFile {
        name,
        bytes: markdown.into_bytes(),
    }
}

/// Writes every file into `dir` (created if missing), each atomically; their paths, in order.
fn write_files(dir: &Path, files: Vec<ReportFile>) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|cause| ReportError::Write {
        path: dir.to_owned(),
        cause,
    })?;
    files
        .into_iter()
        .map(|f| write_atomically(dir, f.name, &f.bytes))
        .collect()
}

/// Writes `bytes` to `dir/name` through a hidden temporary file in the same directory
/// (renaming within one file system is atomic), so a reader sees the old file or the new one,
/// never a part; the temporary file is removed if anything fails before the rename.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    let path = dir.join(name);
    let fail = |cause| ReportError::Write {
        path: path.clone(),
        cause,
    };
    rocket_dag::fs::write_atomically(&path, bytes).map_err(fail)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::time::Duration as StdDuration;

    use rocket_dag::store::{RunType, TaskStateRecord};

    use super::*;
    use crate::ll2::parse_page;
    use crate::record::Source;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("test date")
            .to_utc()
    }

    fn fixture(name: &str) -> Vec<Launch> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/ll2")
            .join(name);
        let bytes = std::fs::read(&path).expect("read fixture");
        parse_page(&bytes).expect("parse fixture").results
    }

    fn json(report: &impl Serialize) -> String {
        serde_json::to_string_pretty(report).expect("report serializes")
    }

    fn launch(id: &str, net: Option<&str>) -> Launch {
        Launch {
            id: id.into(),
            name: format!("Rocket | Mission {id}"),
            net: net.map(at),
            status: Some("Go for Launch".into()),
            provider: Some("SpaceX".into()),
            rocket: Some("Falcon 9 Block 5".into()),
            rocket_family: Some("Falcon".into()),
            rocket_image_url: None,
            pad: Some("Space Launch Complex 40".into()),
            location: Some("Cape Canaveral SFS, FL, USA".into()),
            country: Some("USA".into()),
            pad_timezone: Some("America/New_York".into()),
            mission: Some(format!("Mission {id}")),
            orbit: Some("Low Earth Orbit".into()),
            image_url: None,
            thumbnail_url: None,
        }
    }

    // ---- launch report ----

    #[test]
    fn launch_report_of_the_2025_11_fixture() {
        let launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
        let report = LaunchReport::build(&launches, at("2025-11-02T00:00:00Z"));
        assert_eq!(report.launches.len(), 5);
        assert_eq!(
            (report.window.before.len(), report.window.after.len()),
            (1, 4)
        );
        // 05:09:59Z on the night New York leaves DST (06:00Z) is still 01:09:59 EDT.
        let bandwagon = &report.launches[1];
        assert_eq!(
            bandwagon.net_local.as_deref(),
            Some("2025-11-02T01:09:59-04:00")
        );
        assert_eq!(bandwagon.zone_abbreviation.as_deref(), Some("EDT"));
        insta::assert_snapshot!("launches_2025_11_md", report.to_markdown());
        insta::assert_snapshot!("launches_2025_11_json", json(&report));
    }

    #[test]
    fn launch_report_of_the_2024_03_fixture_falls_back_to_utc() {
        let launches = fixture("v2.0.0-upcoming-2024-03.json");
        let report = LaunchReport::build(&launches, at("2024-04-01T00:00:00Z"));
        assert!(
            report
                .launches
                .iter()
                .all(|l| l.zone_fallback == Some(ZoneFallback::NotGiven) && l.zone == "UTC"),
            "API 2.0.0 sends no pad time zone"
        );
        // A launch exactly at the logical date is "after".
        assert_eq!(
            (report.window.before.len(), report.window.after.len()),
            (3, 7)
        );
        assert_eq!(report.window.after[0].seconds_from_logical_date, 0);
        insta::assert_snapshot!("launches_2024_03_md", report.to_markdown());
        insta::assert_snapshot!("launches_2024_03_json", json(&report));
    }

    #[test]
    fn no_launches_is_a_short_report() {
        let report = LaunchReport::build(&[], at("2025-11-02T00:00:00Z"));
        assert!(report.launches.is_empty());
        assert_eq!(report.intervals.gaps, []);
        assert_eq!(
            (
                report.intervals.min_seconds,
                report.intervals.median_seconds
            ),
            (None, None)
        );
        assert_eq!(report.counts.provider, []);
        insta::assert_snapshot!("launches_empty_md", report.to_markdown());
        let dir = tempfile::tempdir().expect("tempdir");
        let written = report.write(dir.path()).expect("write");
        assert_eq!(written.len(), 5);
        let csv = std::fs::read_to_string(dir.path().join("launches.csv")).expect("csv");
        assert_eq!(csv.lines().count(), 1, "the header only");
    }

    #[test]
    fn unknown_and_missing_time_zones_fall_back_to_utc_with_a_note() {
        let mut mars = launch("mars", Some("2025-11-03T10:00:00Z"));
        mars.pad_timezone = Some("Mars/Olympus_Mons".into());
        let mut none = launch("none", Some("2025-11-04T10:00:00Z"));
        none.pad_timezone = None;
        let mut blank = launch("blank", Some("2025-11-05T10:00:00Z"));
        blank.pad_timezone = Some("  ".into());
        let kolkata = {
            let mut l = launch("kolkata", Some("2025-11-02T11:56:00Z"));
            l.pad_timezone = Some("Asia/Kolkata".into());
            l
        };
        let cayenne = {
            let mut l = launch("cayenne", Some("2025-11-04T21:03:00Z"));
            l.pad_timezone = Some("America/Cayenne".into());
            l
        };
        let report = LaunchReport::build(
            &[mars, none, blank, kolkata, cayenne],
            at("2025-11-01T00:00:00Z"),
        );
        let row = |id: &str| report.launches.iter().find(|l| l.id == id).expect("row");
        assert_eq!(
            row("mars").zone_fallback,
            Some(ZoneFallback::Unknown {
                given: "Mars/Olympus_Mons".into()
            })
        );
        assert_eq!(
            row("mars").net_local.as_deref(),
            Some("2025-11-03T10:00:00+00:00")
        );
        assert_eq!(row("none").zone_fallback, Some(ZoneFallback::NotGiven));
        assert_eq!(row("blank").zone_fallback, Some(ZoneFallback::NotGiven));
        assert_eq!(row("kolkata").zone_fallback, None);
        assert_eq!(
            row("kolkata").net_local.as_deref(),
            Some("2025-11-02T17:26:00+05:30")
        );
        assert_eq!(row("kolkata").zone_abbreviation.as_deref(), Some("IST"));
        // Cayenne's only name for its offset is the offset: no abbreviation.
        assert_eq!(row("cayenne").zone_abbreviation, None);

        let md = report.to_markdown();
        assert!(md.contains("2025-11-03 10:00 UTC ‡"), "{md}");
        assert!(md.contains("2025-11-04 10:00 UTC †"), "{md}");
        assert!(md.contains("2025-11-02 17:26 IST (UTC+05:30)"), "{md}");
        assert!(md.contains("2025-11-04 18:03 (UTC-03:00)"), "{md}");
        assert!(
            md.contains("not a known IANA zone (`Mars/Olympus_Mons`)"),
            "{md}"
        );
        assert!(md.contains("† The API gave no time zone"), "{md}");
        let json: serde_json::Value = serde_json::to_value(&report).expect("json");
        // By NET: kolkata, mars, none, cayenne, blank.
        let fallbacks: Vec<&serde_json::Value> = (0..5)
            .map(|i| &json["launches"][i]["zone_fallback"])
            .collect();
        assert_eq!(
            fallbacks,
            [
                &serde_json::Value::Null,
                &serde_json::json!({"reason": "unknown", "given": "Mars/Olympus_Mons"}),
                &serde_json::json!({"reason": "not_given"}),
                &serde_json::Value::Null,
                &serde_json::json!({"reason": "not_given"}),
            ]
        );
    }

    #[test]
    fn intervals_leave_out_launches_without_net_and_take_the_middle_median() {
        let launches = [
            launch("c", Some("2025-01-01T12:00:00Z")),
            launch("x", None),
            launch("a", Some("2025-01-01T00:00:00Z")),
            launch("d", Some("2025-01-03T12:00:00Z")),
            launch("b", Some("2025-01-01T00:00:00Z")),
        ];
        let report = LaunchReport::build(&launches, at("2025-01-02T00:00:00Z"));
        let order: Vec<&str> = report.launches.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(
            order,
            ["a", "b", "c", "d", "x"],
            "by NET, same NET in input order"
        );
        let gaps: Vec<i64> = report.intervals.gaps.iter().map(|g| g.seconds).collect();
        assert_eq!(gaps, [0, 12 * 3600, 48 * 3600]);
        assert_eq!(report.intervals.without_net, 1);
        assert_eq!(report.intervals.min_seconds, Some(0));
        assert_eq!(report.intervals.median_seconds, Some(12.0 * 3600.0));
        assert_eq!(report.intervals.max_seconds, Some(48 * 3600));
        assert_eq!(report.window.without_net, 1);

        let even = LaunchReport::build(&launches[..4], at("2025-01-02T00:00:00Z"));
        // c, x, a, d: gaps 12 h and 48 h, the median is their mean.
        assert_eq!(even.intervals.median_seconds, Some(30.0 * 3600.0));
        let md = report.to_markdown();
        assert!(md.contains("1 launch without a NET is left out."), "{md}");
        assert!(
            md.contains("Shortest gap 0 s, median 12 h 0 min, longest 2 d 0 h (over 3 gaps)."),
            "{md}"
        );
    }

    #[test]
    fn window_bounds_are_half_open() {
        let logical = "2025-06-01T00:00:00Z";
        let launches = [
            launch("too-early", Some("2025-05-01T23:59:59Z")),
            launch("first-before", Some("2025-05-02T00:00:00Z")),
            launch("last-before", Some("2025-05-31T23:59:59Z")),
            launch("at", Some(logical)),
            launch("last-after", Some("2025-06-30T23:59:59Z")),
            launch("too-late", Some("2025-07-01T00:00:00Z")),
        ];
        let report = LaunchReport::build(&launches, at(logical));
        let ids = |v: &[WindowLaunch]| v.iter().map(|l| l.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&report.window.before), ["first-before", "last-before"]);
        assert_eq!(ids(&report.window.after), ["at", "last-after"]);
        assert_eq!(report.window.outside, 2);
        assert_eq!(report.window.before[1].seconds_from_logical_date, -1);
    }

    #[test]
    fn counts_are_most_frequent_first_with_not_given_last() {
        let mut launches = vec![
            launch("a", None),
            launch("b", None),
            launch("c", None),
            launch("d", None),
        ];
        launches[1].provider = Some("Rocket Lab".into());
        launches[2].provider = None;
        launches[3].provider = Some("Arianespace".into());
        launches[3].pad = None;
        let report = LaunchReport::build(&launches, at("2025-01-01T00:00:00Z"));
        let providers: Vec<(Option<&str>, usize)> = report
            .counts
            .provider
            .iter()
            .map(|c| (c.value.as_deref(), c.count))
            .collect();
        // All once: by name, not given last.
        assert_eq!(
            providers,
            [
                (Some("Arianespace"), 1),
                (Some("Rocket Lab"), 1),
                (Some("SpaceX"), 1),
                (None, 1)
            ]
        );
        launches[2].provider = Some("SpaceX".into());
        let report = LaunchReport::build(&launches, at("2025-01-01T00:00:00Z"));
        assert_eq!(
            report.counts.provider[0],
            Count {
                value: Some("SpaceX".into()),
                count: 2
            }
        );
        let pads: Vec<Option<&str>> = report
            .counts
            .pad
            .iter()
            .map(|c| c.value.as_deref())
            .collect();
        assert_eq!(
            pads,
            [
                Some("Space Launch Complex 40 (Cape Canaveral SFS, FL, USA)"),
                None
            ]
        );
        assert_eq!(report.counts.pad[0].count, 3);
    }

    // ---- download report ----

    const CDN: &str = "thespacedevs-prod.nyc3.digitaloceanspaces.com";
    const IMGBOX: &str = "images2.imgbox.com";

    /// A record as a successful download from `host` leaves it; tests adjust the rest.
    fn record(
        launch: &str,
        rocket: Option<&str>,
        outcome: Outcome,
        host: Option<&str>,
    ) -> ImageRecord {
        ImageRecord {
            launch_id: format!("id-{launch}"),
            launch_name: launch.into(),
            rocket: rocket.map(str::to_owned),
            url: host.map(|h| format!("https://{h}/media/{launch}.jpg")),
            outcome,
            error_class: None,
            error: None,
            http_status: None,
            bytes: None,
            ttfb_ms: None,
            total_ms: None,
            throughput_bps: None,
            attempts: 1,
            source: Some(Source::Primary),
            sha256: None,
            file_name: None,
            host: host.map(str::to_owned),
        }
    }

    fn timed(
        mut r: ImageRecord,
        bytes: Option<u64>,
        ttfb_ms: Option<f64>,
        total_ms: Option<f64>,
    ) -> ImageRecord {
        r.bytes = bytes;
        r.ttfb_ms = ttfb_ms;
        r.total_ms = total_ms;
        r.http_status = bytes.map(|_| 200);
        r
    }

    fn failed(mut r: ImageRecord, class: &str, status: Option<u16>) -> ImageRecord {
        r.error_class = Some(class.into());
        r.error = Some(format!("{class} error"));
        r.http_status = status;
        r
    }

    /// Every outcome, five error classes, four hosts (and a failure without one), 11 timed.
    fn sample_records() -> Vec<ImageRecord> {
        const F9: Option<&str> = Some("Falcon 9 Block 5");
        const LM: Option<&str> = Some("Long March 7A");
        const EL: Option<&str> = Some("Electron");
        use Outcome::*;
        vec![
            timed(
                record("Falcon 9 | Starlink 11-23", F9, Downloaded, Some(CDN)),
                Some(204_800),
                Some(45.0),
                Some(180.0),
            ),
            timed(
                record("Falcon 9 | Bandwagon 4", F9, Downloaded, Some(CDN)),
                Some(512_000),
                Some(60.0),
                Some(420.0),
            ),
            timed(
                record(
                    "LVM-3 | CMS-03",
                    Some("Launch Vehicle Mark-3"),
                    Downloaded,
                    Some(IMGBOX),
                ),
                Some(1_048_576),
                Some(120.0),
                Some(950.0),
            ),
            {
                let mut r = record(
                    "Ariane 62 | Sentinel-1D",
                    Some("Ariane 62"),
                    Downloaded,
                    Some(CDN),
                );
                r.source = Some(Source::RocketConfiguration);
                timed(r, Some(3_145_728), Some(150.0), Some(2_400.0))
            },
            {
                let mut r = timed(
                    record("Falcon 9 | Starlink 6-45", F9, AlreadyPresent, Some(CDN)),
                    Some(204_800),
                    Some(12.0),
                    Some(15.0),
                );
                r.http_status = Some(304);
                r
            },
            timed(
                record("Falcon 9 | Starlink 7-18", F9, DuplicateUrl, Some(CDN)),
                Some(204_800),
                None,
                None,
            ),
            timed(
                record(
                    "Long March 7A | Unknown Payload",
                    LM,
                    DuplicateContent,
                    Some("cdn.example.org"),
                ),
                Some(300_000),
                Some(80.0),
                Some(300.0),
            ),
            failed(
                timed(
                    record("Electron | Slow Pic", EL, Failed, Some("slow.example.net")),
                    None,
                    None,
                    Some(30_000.0),
                ),
                "timeout",
                None,
            ),
            {
                let mut r = failed(
                    timed(
                        record("Falcon 9 | NROL-69", F9, Failed, Some(IMGBOX)),
                        None,
                        Some(200.0),
                        Some(210.0),
                    ),
                    "http_5xx",
                    Some(503),
                );
                r.attempts = 3;
                r
            },
            failed(
                timed(
                    record("Falcon 9 | Transporter-13", F9, Failed, Some(CDN)),
                    None,
                    Some(90.0),
                    Some(95.0),
                ),
                "http_4xx",
                Some(404),
            ),
            {
                let mut r = failed(
                    record("Electron | Bad URL", EL, Failed, None),
                    "invalid_url",
                    None,
                );
                r.url = Some("htp:/not a url".into());
                r
            },
            failed(
                timed(
                    record(
                        "Long March 7A | Refused",
                        LM,
                        Failed,
                        Some("dead.example.net"),
                    ),
                    None,
                    None,
                    Some(2.0),
                ),
                "connect",
                None,
            ),
            failed(
                timed(
                    record(
                        "Long March 7A | Also Refused",
                        LM,
                        Failed,
                        Some("dead.example.net"),
                    ),
                    None,
                    None,
                    Some(3.0),
                ),
                "connect",
                None,
            ),
            record("Soyuz 2.1b | Resurs-P No.4", None, NoImage, None),
        ]
    }

    #[test]
    fn download_report_of_every_outcome() {
        let report = DownloadReport::build(&sample_records());
        assert_eq!(report.records, 14);
        assert_eq!(
            (report.succeeded, report.failed, report.no_image),
            (7, 6, 1)
        );
        let by_outcome: Vec<usize> = report.by_outcome.iter().map(|c| c.count).collect();
        assert_eq!(by_outcome, [4, 1, 1, 1, 6, 1]);
        let classes: Vec<(Option<&str>, usize)> = report
            .failures_by_error_class
            .iter()
            .map(|c| (c.value.as_deref(), c.count))
            .collect();
        assert_eq!(
            classes,
            [
                (Some("connect"), 2),
                (Some("http_4xx"), 1),
                (Some("http_5xx"), 1),
                (Some("invalid_url"), 1),
                (Some("timeout"), 1)
            ]
        );
        assert_eq!(
            report.failures_by_host.last().map(|c| &c.value),
            Some(&None)
        );
        // 11 timed records, the 10 slowest kept: the 2 ms connect failure drops out.
        assert_eq!(report.slowest.len(), 10);
        assert_eq!(report.slowest[0].total_ms, 30_000.0);
        assert_eq!(report.slowest[9].total_ms, 3.0);
        // Totals sorted: 2 3 15 95 180 210 300 420 950 2400 30000 (11; the 304 counts).
        assert_eq!(report.total_ms.samples, 11);
        assert_eq!(report.total_ms.p50, Some(210.0), "rank ceil(5.5) = 6");
        assert_eq!(report.total_ms.p90, Some(2_400.0), "rank ceil(9.9) = 10");
        assert_eq!(report.total_ms.p99, Some(30_000.0), "rank ceil(10.89) = 11");
        // First bytes sorted: 12 45 60 80 90 120 150 200 (8).
        assert_eq!(report.ttfb_ms.samples, 8);
        assert_eq!(
            (report.ttfb_ms.p50, report.ttfb_ms.p90, report.ttfb_ms.p99),
            (Some(80.0), Some(200.0), Some(200.0))
        );
        let cdn = &report.throughput_by_host[0];
        assert_eq!(cdn.host, CDN);
        assert_eq!((cdn.images, cdn.bytes), (3, 204_800 + 512_000 + 3_145_728));
        assert!((cdn.seconds - 3.0).abs() < 1e-9);
        assert_eq!(cdn.bytes_per_second, Some(3_862_528.0 / 3.0));
        let d = report.duplicates;
        assert_eq!(
            (
                d.duplicate_url.bytes_saved,
                d.duplicate_content.bytes_saved,
                d.already_present.bytes_saved
            ),
            (204_800, 300_000, 204_800)
        );
        assert_eq!((d.total.images, d.total.bytes_saved), (3, 709_600));
        let f9 = &report.per_rocket[0];
        assert_eq!(f9.rocket.as_deref(), Some("Falcon 9 Block 5"));
        assert_eq!((f9.launches, f9.images, f9.failed), (6, 4, 2));
        assert_eq!(
            report.per_rocket.last().map(|r| r.rocket.is_none()),
            Some(true)
        );
        insta::assert_snapshot!("downloads_md", report.to_markdown());
        insta::assert_snapshot!("downloads_json", json(&report));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let p = Percentiles::of((1..=10).map(f64::from));
        assert_eq!(
            (p.samples, p.p50, p.p90, p.p99),
            (10, Some(5.0), Some(9.0), Some(10.0))
        );
        let p = Percentiles::of([7.0]);
        assert_eq!((p.p50, p.p90, p.p99), (Some(7.0), Some(7.0), Some(7.0)));
        let p = Percentiles::of((1..=100).rev().map(f64::from));
        assert_eq!((p.p50, p.p90, p.p99), (Some(50.0), Some(90.0), Some(99.0)));
        let p = Percentiles::of([f64::NAN, -1.0, f64::INFINITY]);
        assert_eq!(
            p,
            Percentiles {
                samples: 0,
                p50: None,
                p90: None,
                p99: None
            }
        );
        let json = serde_json::to_value(p).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"samples": 0, "p50": null, "p90": null, "p99": null})
        );
    }

    #[test]
    fn no_records_is_a_short_report() {
        let report = DownloadReport::build(&[]);
        assert_eq!((report.records, report.succeeded, report.failed), (0, 0, 0));
        assert!(report.by_outcome.iter().all(|c| c.count == 0));
        assert_eq!(report.total_ms.p50, None);
        assert_eq!(report.duplicates.total, Saved::default());
        insta::assert_snapshot!("downloads_empty_md", report.to_markdown());
    }

    #[test]
    fn all_failures() {
        let records: Vec<ImageRecord> = sample_records()
            .into_iter()
            .filter(|r| r.outcome == Outcome::Failed)
            .collect();
        let report = DownloadReport::build(&records);
        assert_eq!((report.records, report.succeeded, report.failed), (6, 0, 6));
        assert_eq!(report.throughput_by_host, []);
        assert_eq!(report.duplicates.total, Saved::default());
        assert!(report.per_launch.iter().all(|l| l.images == 0));
        let md = report.to_markdown();
        assert!(
            md.contains(
                "6 image records in this run (one per launch): 0 with the picture on disk after \
                 the run, 6 failed, 0 without an image URL."
            ),
            "{md}"
        );
        assert!(md.contains("No picture was transferred."), "{md}");
        assert!(md.contains("| `failed` | 6 | 100.0% |"), "{md}");
        let dir = tempfile::tempdir().expect("tempdir");
        report.write(dir.path()).expect("write");
    }

    // ---- history report ----

    fn run(run_id: &str, logical: &str, state: RunStateRecord) -> DagRunRecord {
        let logical = at(logical);
        DagRunRecord {
            dag_id: "listing_2_10".into(),
            run_id: run_id.into(),
            run_type: RunType::Scheduled,
            logical_date: logical,
            data_interval_start: logical,
            data_interval_end: logical + Duration::days(1),
            state,
            start: logical + Duration::days(1),
            end: None,
            conf: serde_json::json!({}),
        }
    }

    /// A try of `task` that started `offset_ms` after its run and took `ms` (`None`: running).
    fn try_of(
        run: &DagRunRecord,
        task: &str,
        map_index: i32,
        try_number: u32,
        state: TaskStateRecord,
        offset_ms: i64,
        ms: Option<u64>,
    ) -> TaskInstanceRecord {
        let start = run.start + Duration::milliseconds(offset_ms);
        TaskInstanceRecord {
            dag_id: run.dag_id.clone(),
            run_id: run.run_id.clone(),
            task_id: task.into(),
            map_index,
            try_number,
            state,
            start,
            end: ms.map(|ms| start + Duration::milliseconds(ms as i64)),
            duration: ms.map(StdDuration::from_millis),
            hostname: "worker-1".into(),
            pid: Some(4242),
            log_path: None,
            error: None,
        }
    }

    fn images(downloaded: usize, other: usize) -> Vec<ImageRecord> {
        let mut out: Vec<ImageRecord> = (0..downloaded)
            .map(|i| record(&format!("d{i}"), None, Outcome::Downloaded, Some(CDN)))
            .collect();
        out.extend(
            (0..other).map(|i| record(&format!("o{i}"), None, Outcome::AlreadyPresent, Some(CDN))),
        );
        out
    }

    /// Runs of `listing_2_10` as of 2025-11-10 12:00 UTC: three in the period (one failed,
    /// one with a mapped task), one running, one old, and one of another DAG.
    fn sample_history() -> Vec<RunHistory> {
        use TaskStateRecord::*;
        let r1 = run(
            "scheduled__2025-11-01",
            "2025-11-01T00:00:00Z",
            RunStateRecord::Success,
        );
        let r2 = run(
            "scheduled__2025-11-02",
            "2025-11-02T00:00:00Z",
            RunStateRecord::Failed,
        );
        let r3 = run(
            "manual__2025-11-03",
            "2025-11-03T06:00:00Z",
            RunStateRecord::Success,
        );
        let r4 = run(
            "scheduled__2025-11-10",
            "2025-11-10T00:00:00Z",
            RunStateRecord::Running,
        );
        let old = run(
            "scheduled__2025-09-01",
            "2025-09-01T00:00:00Z",
            RunStateRecord::Success,
        );
        let mut other = run(
            "scheduled__2025-11-01",
            "2025-11-01T00:00:00Z",
            RunStateRecord::Failed,
        );
        other.dag_id = "another_dag".into();
        vec![
            RunHistory {
                task_instances: vec![
                    try_of(
                        &r1,
                        "download_launches",
                        NOT_MAPPED,
                        1,
                        Success,
                        0,
                        Some(1_500),
                    ),
                    try_of(
                        &r1,
                        "get_pictures",
                        NOT_MAPPED,
                        1,
                        Success,
                        1_600,
                        Some(2_250),
                    ),
                    try_of(&r1, "notify", NOT_MAPPED, 1, Success, 3_900, Some(8)),
                ],
                images: Some(images(3, 2)),
                run: r1,
            },
            RunHistory {
                task_instances: vec![
                    try_of(
                        &r2,
                        "download_launches",
                        NOT_MAPPED,
                        1,
                        UpForRetry,
                        0,
                        Some(1_000),
                    ),
                    try_of(
                        &r2,
                        "download_launches",
                        NOT_MAPPED,
                        2,
                        Failed,
                        3_000,
                        Some(4_000),
                    ),
                    try_of(
                        &r2,
                        "get_pictures",
                        NOT_MAPPED,
                        1,
                        UpstreamFailed,
                        7_000,
                        None,
                    ),
                    try_of(&r2, "notify", NOT_MAPPED, 1, UpstreamFailed, 7_000, None),
                ],
                images: None,
                run: r2,
            },
            RunHistory {
                task_instances: vec![
                    try_of(
                        &r3,
                        "download_launches",
                        NOT_MAPPED,
                        1,
                        Success,
                        0,
                        Some(900),
                    ),
                    try_of(&r3, "get_pictures", 0, 1, Success, 1_000, Some(400)),
                    try_of(&r3, "get_pictures", 1, 1, UpForRetry, 1_000, Some(5_000)),
                    try_of(&r3, "get_pictures", 1, 2, Success, 7_000, Some(600)),
                    try_of(&r3, "get_pictures", 2, 1, Success, 1_000, Some(1_000)),
                    try_of(&r3, "notify", NOT_MAPPED, 1, Success, 8_000, Some(5)),
                ],
                images: Some(images(2, 0)),
                run: r3,
            },
            RunHistory {
                task_instances: vec![try_of(
                    &r4,
                    "download_launches",
                    NOT_MAPPED,
                    1,
                    Running,
                    0,
                    None,
                )],
                images: None,
                run: r4,
            },
            RunHistory {
                task_instances: Vec::new(),
                images: Some(images(9, 0)),
                run: old,
            },
            RunHistory {
                task_instances: Vec::new(),
                images: Some(images(7, 0)),
                run: other,
            },
        ]
    }

    const NOW: &str = "2025-11-10T12:00:00Z";

    #[test]
    fn history_report_from_runs() {
        let report =
            HistoryReport::build("listing_2_10", "get_pictures", at(NOW), &sample_history());
        assert_eq!(report.first_day.to_string(), "2025-10-12");
        assert_eq!(report.images_per_day.len(), 30);
        let busy: Vec<(String, usize, usize)> = report
            .images_per_day
            .iter()
            .filter(|d| d.runs > 0)
            .map(|d| (d.date.to_string(), d.runs, d.images_downloaded))
            .collect();
        assert_eq!(
            busy,
            [
                ("2025-11-01".to_owned(), 1, 3),
                ("2025-11-02".to_owned(), 1, 0),
                ("2025-11-03".to_owned(), 1, 2),
                ("2025-11-10".to_owned(), 1, 0),
            ]
        );
        assert_eq!(report.runs_without_images, 2);
        let rate = report.success_rate;
        assert_eq!(
            (
                rate.overall.runs,
                rate.overall.finished,
                rate.overall.success
            ),
            (5, 4, 3)
        );
        assert_eq!(rate.overall.rate, Some(0.75));
        assert_eq!((rate.last_30_days.runs, rate.last_30_days.finished), (4, 3));
        assert_eq!(rate.last_30_days.rate, Some(2.0 / 3.0));
        assert_eq!(
            report.tasks,
            ["download_launches", "get_pictures", "notify"]
        );
        let seconds =
            |run: usize, task: usize| report.runs[run].tasks.get(task).and_then(|t| t.seconds);
        // Last tries only: the failed run's second try, the mapped task's elements summed.
        assert_eq!(seconds(1, 0), Some(4.0));
        assert_eq!(seconds(1, 1), None, "upstream_failed never ran");
        assert_eq!(seconds(2, 1), Some(2.0));
        assert_eq!(report.runs[2].tasks[1].map_elements, Some(3));
        assert_eq!(report.runs[0].tasks[1].map_elements, None);
        assert_eq!(report.runs[3].tasks.len(), 1);
        insta::assert_snapshot!("history_md", report.to_markdown());
    }

    #[test]
    fn history_of_nothing() {
        let report = HistoryReport::build("listing_2_10", "get_pictures", at(NOW), &[]);
        assert_eq!(report.success_rate.overall.rate, None);
        assert!(report.images_per_day.iter().all(|d| d.runs == 0));
        let md = report.to_markdown();
        assert!(md.contains("No run in the period."), "{md}");
        assert!(
            md.contains("| All recorded runs | 0 | 0 | 0 | 0 | — |"),
            "{md}"
        );
    }

    #[test]
    fn image_records_are_read_from_a_list_or_one_per_mapped_element() {
        let list = serde_json::to_string(&images(2, 1)).expect("json");
        let one = serde_json::to_string(&images(1, 0)[0]).expect("json");
        let outputs = vec![
            ("download_launches".to_owned(), NOT_MAPPED, "[]".to_owned()),
            ("get_pictures".to_owned(), 0, one.clone()),
            ("get_pictures".to_owned(), 1, "\"not records\"".to_owned()),
            ("get_pictures".to_owned(), 2, list),
        ];
        let read = images_from_outputs("r", "get_pictures", &outputs).expect("records");
        assert_eq!(read.len(), 4);
        assert_eq!(images_from_outputs("r", "notify", &outputs), None);
        let bad = vec![("get_pictures".to_owned(), NOT_MAPPED, "{}".to_owned())];
        assert_eq!(images_from_outputs("r", "get_pictures", &bad), None);
    }

    #[tokio::test]
    async fn history_report_from_a_real_store() {
        let home = tempfile::tempdir().expect("tempdir");
        let store = Store::open_home(home.path()).await.expect("store");
        // A DAG id of its own, in case ROCKET_DAG_DATABASE_URL points at a shared database.
        let suffix: String = home
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("x")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let dag_id = format!("reports_{suffix}");
        let mut history = sample_history();
        history.retain(|h| h.run.dag_id == "listing_2_10");
        for h in &mut history {
            h.run.dag_id = dag_id.clone();
            for ti in &mut h.task_instances {
                ti.dag_id = dag_id.clone();
            }
            store.upsert_run(&h.run).await.expect("upsert run");
            // The images task's output is recorded with its (last, successful) try, as the
            // runner does: the whole list, or one record per mapped element.
            let last_images_try: HashMap<i32, u32> = h
                .task_instances
                .iter()
                .filter(|t| t.task_id == "get_pictures")
                .fold(HashMap::new(), |mut m, t| {
                    let n = m.entry(t.map_index).or_insert(0);
                    *n = (*n).max(t.try_number);
                    m
                });
            let outputs: Vec<(TaskInstanceRecord, Option<String>)> = h
                .task_instances
                .iter()
                .map(|t| {
                    let is_output = t.task_id == "get_pictures"
                        && t.state == TaskStateRecord::Success
                        && last_images_try.get(&t.map_index) == Some(&t.try_number);
                    let output = match (&h.images, is_output, t.map_index) {
                        (Some(images), true, NOT_MAPPED) => Some(serde_json::to_string(images)),
                        (Some(images), true, i) => {
                            images.get(i as usize).map(serde_json::to_string)
                        }
                        _ => None,
                    };
                    (t.clone(), output.map(|o| o.expect("json")))
                })
                .collect();
            let tries: Vec<(TaskInstanceRecord, Option<&str>)> = outputs
                .iter()
                .map(|(t, o)| (t.clone(), o.as_deref()))
                .collect();
            store.record_tries(&tries).await.expect("record tries");
        }
        let loaded = HistoryReport::load(&store, &dag_id, "get_pictures", at(NOW))
            .await
            .expect("load");
        // The old run's records are not read (outside the period); the mapped run's three
        // elements carry the first three of its records.
        for h in &mut history {
            let day = h.run.logical_date.date_naive();
            if day < loaded.first_day {
                h.task_instances.clear();
                h.images = None;
            }
        }
        let expected = HistoryReport::build(&dag_id, "get_pictures", at(NOW), &history);
        assert_eq!(loaded.images_per_day, expected.images_per_day);
        assert_eq!(loaded.success_rate, expected.success_rate);
        assert_eq!(loaded.tasks, expected.tasks);
        assert_eq!(loaded.runs, expected.runs);
        assert_eq!(loaded, expected);
        store.close().await;
    }

    // ---- files ----

    /// Every file in `dir`, sorted, hidden ones included.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_all_leaves_only_the_final_files_and_overwrites_them() {
        let home = tempfile::tempdir().expect("tempdir");
        let dir = home
            .path()
            .join("data/listing_2_10/reports/manual__2025-11-02T00:00:00+00:00");
        let launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
        let history =
            HistoryReport::build("listing_2_10", "get_pictures", at(NOW), &sample_history());
        let logical = at("2025-11-02T00:00:00Z");
        let written =
            write_all(&dir, &launches, logical, &sample_records(), Some(&history)).expect("write");
        let expected = [
            "downloads.csv",
            "downloads.json",
            "downloads.md",
            "downloads_slowest.csv",
            "downloads_summary.csv",
            "history.csv",
            "history.json",
            "history.md",
            "history_durations.csv",
            "history_success_rate.csv",
            "launches.csv",
            "launches.json",
            "launches.md",
            "launches_counts.csv",
            "launches_intervals.csv",
        ];
        assert_eq!(listing(&dir), expected, "no temporary file left behind");
        let mut names: Vec<String> = written
            .iter()
            .map(|p| {
                p.strip_prefix(&dir)
                    .expect("in dir")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        assert_eq!(names, expected);
        let md = std::fs::read_to_string(dir.join("launches.md")).expect("md");
        assert_eq!(md, LaunchReport::build(&launches, logical).to_markdown());
        let written_json = std::fs::read_to_string(dir.join("downloads.json")).expect("json");
        assert_eq!(
            written_json,
            json(&DownloadReport::build(&sample_records())) + "\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("launches.md"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o600, 0o600);
            assert_ne!(
                mode & 0o044,
                0,
                "readable beyond the owner (umask permitting)"
            );
        }

        // Again, with other data: every file replaced, still nothing else in the directory.
        write_all(&dir, &[], logical, &[], None).expect("rewrite");
        assert_eq!(listing(&dir), expected);
        let md = std::fs::read_to_string(dir.join("launches.md")).expect("md");
        assert!(md.contains("no launches"), "{md}");
    }

    #[test]
    fn a_failed_write_names_the_file_and_leaves_no_temporary_file() {
        let home = tempfile::tempdir().expect("tempdir");
        // `downloads.md` is a directory: the rename onto it fails.
        std::fs::create_dir_all(home.path().join("downloads.md/x")).expect("mkdir");
        let err = DownloadReport::build(&[])
            .write(home.path())
            .expect_err("cannot replace a directory");
        assert!(
            matches!(&err, ReportError::Write { path, .. } if path.ends_with("downloads.md")),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("cannot write the report file "),
            "{err}"
        );
        assert!(
            listing(home.path()).iter().all(|n| !n.ends_with(".tmp")),
            "{:?}",
            listing(home.path())
        );
    }

    /// Reads a CSV file back with the csv crate: its header and rows.
    fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
        let mut reader = csv::Reader::from_path(path).expect("open csv");
        let header = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        let rows = reader
            .records()
            .map(|r| r.expect("row").iter().map(str::to_owned).collect())
            .collect();
        (header, rows)
    }

    #[test]
    fn csv_cells_cannot_run_as_formulas() {
        let cell = |s: &str| csv_cell(s.to_owned());
        for hostile in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\t=1+1",
            "\r=1+1",
        ] {
            assert!(
                cell(hostile).starts_with('\''),
                "{hostile:?} -> {:?}",
                cell(hostile)
            );
        }
        // Numbers and plain text stay as they are.
        for plain in ["-3.5", "+1e3", "42", "Falcon 9 Block 5 | Starlink", "a-b=c"] {
            assert_eq!(cell(plain), plain);
        }
        // Controls go: NUL and escapes removed, line breaks as spaces.
        assert_eq!(cell("a\0b\x1b[31mc\nd"), "ab[31mc d");
    }

    #[test]
    fn hostile_launch_data_lands_inert_in_csv_and_markdown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
        launches[0].name = "=HYPERLINK(\"http://evil\")\0\x1b[2J".to_owned();
        launches[0].id = "@id\r\nforged".to_owned();
        let mut records = sample_records();
        records[0].launch_name = "+cmd|' /C calc'!A0".to_owned();
        write_all(
            dir.path(),
            &launches,
            at("2025-11-02T00:00:00Z"),
            &records,
            None,
        )
        .expect("write");
        for file in ["launches.csv", "downloads.csv", "downloads_slowest.csv"] {
            let (_, rows) = read_csv(&dir.path().join(file));
            for cell in rows.iter().flatten() {
                assert!(
                    !cell.starts_with(['=', '+', '@']) || cell.parse::<f64>().is_ok(),
                    "{file}: {cell:?}"
                );
                assert!(!cell.chars().any(char::is_control), "{file}: {cell:?}");
            }
        }
        let csv = std::fs::read_to_string(dir.path().join("launches.csv")).unwrap();
        assert!(csv.contains("'=HYPERLINK"), "{csv}");
        for md in ["launches.md", "downloads.md"] {
            let text = std::fs::read_to_string(dir.path().join(md)).unwrap();
            assert!(!text.contains('\0') && !text.contains('\x1b'), "{md}");
        }
    }

    #[test]
    fn csv_files_parse_back_with_their_headers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let launches = fixture("v2.2.0-upcoming-limit5-2025-11.json");
        let history =
            HistoryReport::build("listing_2_10", "get_pictures", at(NOW), &sample_history());
        write_all(
            dir.path(),
            &launches,
            at("2025-11-02T00:00:00Z"),
            &sample_records(),
            Some(&history),
        )
        .expect("write");

        let (header, rows) = read_csv(&dir.path().join("launches.csv"));
        assert_eq!(
            header,
            [
                "id",
                "name",
                "net_utc",
                "net_local",
                "zone",
                "zone_abbreviation",
                "zone_fallback",
                "window",
                "status",
                "provider",
                "rocket",
                "rocket_family",
                "pad",
                "location",
                "country",
                "mission",
                "orbit"
            ]
        );
        assert_eq!(rows.len(), 5);
        // The `|` in a launch name survives the round trip.
        assert_eq!(rows[0][1], "Falcon 9 Block 5 | Starlink Group 11-23");
        assert_eq!(rows[0][2], "2025-10-31T20:41:10Z");
        assert_eq!(rows[0][3], "2025-10-31T13:41:10-07:00");
        assert_eq!(
            (
                rows[0][4].as_str(),
                rows[0][5].as_str(),
                rows[0][7].as_str()
            ),
            ("America/Los_Angeles", "PDT", "before")
        );

        let (header, rows) = read_csv(&dir.path().join("launches_counts.csv"));
        assert_eq!(header, ["dimension", "value", "launches"]);
        assert!(rows.contains(&vec![
            "provider".to_owned(),
            "SpaceX".to_owned(),
            "2".to_owned()
        ]));
        let (header, rows) = read_csv(&dir.path().join("launches_intervals.csv"));
        assert_eq!(
            header,
            [
                "from_id",
                "from_name",
                "from_net",
                "to_id",
                "to_name",
                "to_net",
                "gap_seconds"
            ]
        );
        assert_eq!(rows.len(), 4);

        let (header, rows) = read_csv(&dir.path().join("downloads.csv"));
        assert_eq!(
            header,
            ["launch_id", "launch_name", "rocket", "outcomes", "images"]
        );
        assert_eq!(rows.len(), 14);
        let (header, rows) = read_csv(&dir.path().join("downloads_summary.csv"));
        assert_eq!(header, ["table", "key", "metric", "value"]);
        assert!(rows.contains(&vec![
            "total_ms".into(),
            "p90".into(),
            "ms".into(),
            "2400".into()
        ]));
        assert!(rows.contains(&vec![
            "duplicates".into(),
            "total".into(),
            "bytes_saved".into(),
            "709600".into()
        ]));
        let (header, rows) = read_csv(&dir.path().join("downloads_slowest.csv"));
        assert_eq!(
            header,
            [
                "rank",
                "launch_id",
                "launch_name",
                "outcome",
                "host",
                "total_ms",
                "ttfb_ms",
                "bytes"
            ]
        );
        assert_eq!(rows.len(), 10);

        let (header, rows) = read_csv(&dir.path().join("history.csv"));
        assert_eq!(header, ["date", "runs", "images_downloaded"]);
        assert_eq!(rows.len(), 30);
        let (header, rows) = read_csv(&dir.path().join("history_success_rate.csv"));
        assert_eq!(
            header,
            ["scope", "runs", "finished", "success", "failed", "rate"]
        );
        assert_eq!(rows[1], ["overall", "5", "4", "3", "1", "0.75"]);
        let (header, rows) = read_csv(&dir.path().join("history_durations.csv"));
        assert_eq!(
            header,
            [
                "logical_date",
                "run_id",
                "run_state",
                "task_id",
                "map_elements",
                "seconds"
            ]
        );
        assert!(rows.contains(&vec![
            "2025-11-03T06:00:00Z".into(),
            "manual__2025-11-03".into(),
            "success".into(),
            "get_pictures".into(),
            "3".into(),
            "2".into()
        ]));
    }

    #[test]
    fn markdown_escapes_what_tables_would_interpret() {
        assert_eq!(
            text("Falcon 9 | Starlink *1* [a]_b_\nnext"),
            r"Falcon 9 \| Starlink \*1\* \[a\]\_b\_ next"
        );
        assert_eq!(code("a|b"), r"`a\|b`");
        assert_eq!(code("has`tick"), r"has\`tick");
        let mut l = launch("x", Some("2025-01-01T00:00:00Z"));
        l.mission = Some("Line one\nline | two".into());
        let md = LaunchReport::build(&[l], at("2025-01-01T00:00:00Z")).to_markdown();
        assert!(md.contains(r"Line one line \| two"), "{md}");
        let key_table: Vec<&str> = md
            .split("## Launches\n")
            .nth(1)
            .expect("key table")
            .lines()
            .take_while(|l| !l.starts_with('#'))
            .filter(|l| l.starts_with('|'))
            .collect();
        assert_eq!(key_table.len(), 3, "header, alignment, one launch");
        for line in key_table {
            // 11 columns, 12 unescaped separators, whatever the names contain.
            assert_eq!(line.replace(r"\|", "").matches('|').count(), 12, "{line}");
        }
    }

    #[test]
    fn numbers_are_formatted_for_reading() {
        assert_eq!(fmt_int(0), "0");
        assert_eq!(fmt_int(999), "999");
        assert_eq!(fmt_int(1_234_567), "1,234,567");
        assert_eq!(fmt_bytes(512), "512 B");
        assert_eq!(fmt_bytes(204_800), "200.0 KiB");
        assert_eq!(fmt_bytes(3_145_728), "3.0 MiB");
        assert_eq!(fmt_rate(100.0), "100 B/s");
        assert_eq!(fmt_rate(1_572_864.0), "1.5 MiB/s");
        assert_eq!(fmt_ms(4.24), "4.2 ms");
        assert_eq!(fmt_ms(180.4), "180 ms");
        assert_eq!(fmt_ms(999.7), "1.00 s");
        assert_eq!(fmt_ms(2_400.0), "2.40 s");
        assert_eq!(fmt_ms(125_000.0), "2 min 5 s");
        assert_eq!(fmt_span(42), "42 s");
        assert_eq!(fmt_span(3 * 3600 + 12 * 60 + 5), "3 h 12 min");
        assert_eq!(fmt_span(2 * 86_400 + 3 * 3600), "2 d 3 h");
        assert_eq!(fmt_pct(2.0 / 3.0), "66.7%");
        assert_eq!(bar(1, 100), "█");
        assert_eq!(bar(100, 100).chars().count(), 20);
        assert_eq!(bar(0, 100), "");
    }
}
