//! The launch report: every launch of a run with its pad's local time, the launches around
//! the logical date, counts per rocket, provider, pad, country and status, and the gaps.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use chrono_tz::{OffsetName, Tz};
use serde::Serialize;

use super::files::Files;
use super::format::{DASH, code, fmt_span, fmt_utc, one_or_many, plural, text};
use super::table::{Align, Cell, Column, Table};
use super::{Count, ReportError, tally};
use crate::ll2::Launch;

/// Days before and after the logical date that [`LaunchWindow`] covers.
pub const WINDOW_DAYS: i64 = 30;

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
        LaunchReport {
            logical_date,
            launches: sorted.iter().map(|l| launch_row(l)).collect(),
            window: LaunchWindow::of(&sorted, logical_date),
            counts: LaunchCounts::of(&sorted),
            intervals: Intervals::of(&sorted),
        }
    }

    /// The report in Markdown: headings, tables and short explanations.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from("# Upcoming launches\n\n");
        if self.launches.is_empty() {
            let _ = writeln!(
                md,
                "The Launch Library 2 API returned no launches for the run with logical date \
                 {}: there is nothing to report.",
                fmt_utc(self.logical_date),
            );
            return md;
        }
        self.intro_markdown(&mut md);
        self.launches_markdown(&mut md);
        self.window_markdown(&mut md);
        self.counts_markdown(&mut md);
        self.intervals_markdown(&mut md);
        md.push_str(
            "\n## Charts\n\nThe counts above as bar charts (SVG files beside this report; the \
             most frequent 15 values, the rest as one bar):\n\n\
             ![Launches per day (NET, UTC)](launches_per_day.svg)\n\n\
             ![Launches per month (NET, UTC)](launches_per_month.svg)\n\n\
             ![Launches per rocket family](launches_per_family.svg)\n\n\
             ![Launches per provider](launches_per_provider.svg)\n",
        );
        md
    }

    /// Launches per period of their NET (UTC) — `%Y-%m` for months, `%Y-%m-%d` for days —
    /// oldest first; launches without a NET apart.
    fn chart_per(&self, period: &str, title: &str) -> String {
        let mut periods: std::collections::BTreeMap<String, usize> = Default::default();
        let mut without = 0;
        for l in &self.launches {
            match l.net {
                Some(net) => *periods.entry(net.format(period).to_string()).or_default() += 1,
                None => without += 1,
            }
        }
        let mut bars: Vec<(String, usize)> = periods.into_iter().collect();
        if without > 0 {
            bars.push(("no NET".to_owned(), without));
        }
        super::chart::bar_chart(title, &bars)
    }

    /// A chart of one of the counts, most frequent first.
    fn chart_of(&self, counts: &[Count], what: &str) -> String {
        let bars: Vec<(String, usize)> = counts
            .iter()
            .map(|c| {
                (
                    c.value.clone().unwrap_or_else(|| "not given".to_owned()),
                    c.count,
                )
            })
            .collect();
        super::chart::bar_chart(&format!("Launches per {what}"), &bars)
    }

    /// The opening sentence: how many launches, over which NETs; what NET means.
    fn intro_markdown(&self, md: &mut String) {
        let n = self.launches.len();
        let _ = write!(
            md,
            "Launches from the Launch Library 2 API for the run with logical date **{}**: \
             {}",
            fmt_utc(self.logical_date),
            plural(n, "launch", "launches"),
        );
        let first_dated = self.launches.first().and_then(|l| l.net);
        let last_dated = self.launches.iter().rev().find_map(|l| l.net);
        match (first_dated, last_dated) {
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
    }

    /// The key table, then what its local times mean.
    fn launches_markdown(&self, md: &mut String) {
        md.push_str("## Launches\n\n");
        self.launches_table().render_markdown(md);
        if self.launches.iter().any(|l| l.zone_fallback.is_none()) {
            md.push_str(
                "\nLocal times are in the pad's time zone as the API names it (IANA), with the \
                 zone's abbreviation and UTC offset at that moment.\n",
            );
        }
        let mut unknown_zones: Vec<&str> = Vec::new();
        let mut zone_not_given = false;
        for row in &self.launches {
            match &row.zone_fallback {
                Some(ZoneFallback::NotGiven) => zone_not_given = true,
                Some(ZoneFallback::Unknown { given })
                    if !unknown_zones.contains(&given.as_str()) =>
                {
                    unknown_zones.push(given);
                }
                Some(ZoneFallback::Unknown { .. }) | None => {}
            }
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
    }

    /// One row per launch: the key fields in Markdown, every field in `launches.csv`.
    fn launches_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::md("#", Align::Right),
            Column::csv("id"),
            Column::both("name", "Launch", Align::Left),
            Column::both("net_utc", "NET (UTC)", Align::Left),
            Column::both("net_local", "NET (pad local time)", Align::Left),
            Column::csv("zone"),
            Column::csv("zone_abbreviation"),
            Column::csv("zone_fallback"),
            Column::csv("window"),
            Column::both("status", "Status", Align::Left),
            Column::both("provider", "Provider", Align::Left),
            Column::both("rocket", "Rocket", Align::Left),
            Column::csv("rocket_family"),
            Column::both("pad", "Pad", Align::Left),
            Column::both("location", "Location", Align::Left),
            Column::csv("country"),
            Column::both("mission", "Mission", Align::Left),
            Column::both("orbit", "Orbit", Align::Left),
        ]);
        for (i, r) in self.launches.iter().enumerate() {
            let fallback = match &r.zone_fallback {
                None => "",
                Some(ZoneFallback::NotGiven) => "not_given",
                Some(ZoneFallback::Unknown { .. }) => "unknown",
            };
            let side = r.net.and_then(|net| window_side(net, self.logical_date));
            table.row(vec![
                Cell::plain((i + 1).to_string()),
                Cell::text(&r.id),
                Cell::text(&r.name),
                r.net.map_or_else(Cell::dash, Cell::utc),
                Cell::new(local_cell(r), r.net_local.clone().unwrap_or_default()),
                Cell::text(&r.zone),
                Cell::maybe_text(r.zone_abbreviation.as_deref()),
                Cell::plain(fallback),
                Cell::plain(side.map(Side::as_str).unwrap_or_default()),
                Cell::maybe_text(r.status.as_deref()),
                Cell::maybe_text(r.provider.as_deref()),
                Cell::maybe_text(r.rocket.as_deref()),
                Cell::maybe_text(r.rocket_family.as_deref()),
                Cell::maybe_text(r.pad.as_deref()),
                Cell::maybe_text(r.location.as_deref()),
                Cell::maybe_text(r.country.as_deref()),
                Cell::maybe_text(r.mission.as_deref()),
                Cell::maybe_text(r.orbit.as_deref()),
            ]);
        }
        table
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
            let mut table = Table::new(vec![
                Column::md("Launch", Align::Left),
                Column::md("NET (UTC)", Align::Left),
                Column::md(column, Align::Right),
            ]);
            for l in launches {
                table.row(vec![
                    Cell::text(&l.name),
                    Cell::utc(l.net),
                    Cell::span(l.seconds_from_logical_date.abs()),
                ]);
            }
            table.render_markdown(md);
        }
    }

    fn counts_markdown(&self, md: &mut String) {
        md.push_str(
            "\n## Counts\n\nLaunches per rocket family, rocket configuration, provider, pad, \
             country and status, most frequent first; *not given* counts the launches for \
             which the API gave no value.\n",
        );
        for dimension in self.dimensions() {
            let _ = writeln!(md, "\n### Per {}\n", dimension.heading);
            let table = self.count_table(&dimension);
            if table.is_empty() {
                md.push_str("No launches.\n");
                continue;
            }
            table.render_markdown(md);
        }
    }

    /// Every dimension of the counts, with its names in the CSV file and the Markdown.
    fn dimensions(&self) -> [Dimension<'_>; 6] {
        let c = &self.counts;
        let dimension = |key, counts, heading, column| Dimension {
            key,
            counts,
            heading,
            column,
        };
        [
            dimension(
                "rocket_family",
                &c.rocket_family,
                "rocket family",
                "Rocket family",
            ),
            dimension("rocket", &c.rocket, "rocket configuration", "Rocket"),
            dimension("provider", &c.provider, "provider", "Provider"),
            dimension("pad", &c.pad, "pad", "Pad (location)"),
            dimension("country", &c.country, "country", "Country"),
            dimension("status", &c.status, "status", "Status"),
        ]
    }

    /// The counts of one dimension: a Markdown table of its own, rows of
    /// `launches_counts.csv`.
    fn count_table(&self, dimension: &Dimension<'_>) -> Table {
        let total = self.launches.len();
        let mut table = Table::new(vec![
            Column::csv("dimension"),
            Column::both("value", dimension.column, Align::Left),
            Column::both("launches", "Launches", Align::Right),
            Column::md("Share", Align::Right),
        ]);
        for c in dimension.counts {
            table.row(vec![
                Cell::plain(dimension.key),
                c.value.as_deref().map_or_else(Cell::not_given, Cell::text),
                Cell::int(c.count),
                Cell::pct(c.count as f64 / total as f64),
            ]);
        }
        table
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
                one_or_many(iv.without_net, "is", "are"),
            );
        }
        md.push('\n');
        if iv.gaps.is_empty() {
            md.push_str("\nFewer than two launches have a NET: there is no interval.\n");
            return;
        }
        md.push('\n');
        self.intervals_table().render_markdown(md);
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

    /// One row per gap: names and the gap in Markdown, ids and instants too in CSV.
    fn intervals_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::csv("from_id"),
            Column::both("from_name", "From", Align::Left),
            Column::csv("from_net"),
            Column::csv("to_id"),
            Column::both("to_name", "To", Align::Left),
            Column::csv("to_net"),
            Column::both("gap_seconds", "Gap", Align::Right),
        ]);
        for g in &self.intervals.gaps {
            table.row(vec![
                Cell::text(&g.from_id),
                Cell::text(&g.from_name),
                Cell::utc(g.from_net),
                Cell::text(&g.to_id),
                Cell::text(&g.to_name),
                Cell::utc(g.to_net),
                Cell::span(g.seconds),
            ]);
        }
        table
    }

    /// Writes `launches.json`, `launches.csv`, `launches_counts.csv`, `launches_intervals.csv`
    /// and `launches.md` into `dir` (created if missing), each atomically; returns their paths.
    ///
    /// # Errors
    ///
    /// [`ReportError::Write`] when a file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        let [first, rest @ ..] = self.dimensions();
        let mut counts = self.count_table(&first);
        for dimension in rest {
            counts.append(self.count_table(&dimension));
        }
        Files::default()
            .json("launches.json", self)?
            .csv("launches.csv", &self.launches_table())?
            .csv("launches_counts.csv", &counts)?
            .csv("launches_intervals.csv", &self.intervals_table())?
            .svg(
                "launches_per_day.svg",
                self.chart_per("%Y-%m-%d", "Launches per day (NET, UTC)"),
            )
            .svg(
                "launches_per_month.svg",
                self.chart_per("%Y-%m", "Launches per month (NET, UTC)"),
            )
            .svg(
                "launches_per_family.svg",
                self.chart_of(&self.counts.rocket_family, "rocket family"),
            )
            .svg(
                "launches_per_provider.svg",
                self.chart_of(&self.counts.provider, "provider"),
            )
            .markdown("launches.md", self.to_markdown())
            .write(dir)
    }
}

/// One dimension of [`LaunchCounts`].
struct Dimension<'a> {
    /// Its name in `launches_counts.csv`.
    key: &'static str,
    counts: &'a [Count],
    /// Its Markdown heading: "Per {heading}".
    heading: &'static str,
    /// Its column in Markdown.
    column: &'static str,
}

impl LaunchWindow {
    /// The launches of `sorted` (by NET) around `logical_date`.
    fn of(sorted: &[&Launch], logical_date: DateTime<Utc>) -> LaunchWindow {
        let window = Duration::days(WINDOW_DAYS);
        let mut before = Vec::new();
        let mut after = Vec::new();
        let mut outside = 0;
        for launch in sorted {
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
        LaunchWindow {
            days: WINDOW_DAYS,
            start: logical_date - window,
            end: logical_date + window,
            before,
            after,
            outside,
            without_net: without_net(sorted),
        }
    }
}

impl LaunchCounts {
    fn of(sorted: &[&Launch]) -> LaunchCounts {
        let count = |field: fn(&Launch) -> Option<String>| tally(sorted.iter().map(|l| field(l)));
        LaunchCounts {
            rocket_family: count(|l| l.rocket_family.clone()),
            rocket: count(|l| l.rocket.clone()),
            provider: count(|l| l.provider.clone()),
            pad: count(|l| match (&l.pad, &l.location) {
                (Some(pad), Some(location)) => Some(format!("{pad} ({location})")),
                (pad, _) => pad.clone(),
            }),
            country: count(|l| l.country.clone()),
            status: count(|l| l.status.clone()),
        }
    }
}

impl Intervals {
    /// The gaps between the launches of `sorted` (by NET) that have a NET.
    fn of(sorted: &[&Launch]) -> Intervals {
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
        Intervals {
            gaps,
            without_net: without_net(sorted),
            min_seconds: seconds.first().copied(),
            median_seconds: median(&seconds),
            max_seconds: seconds.last().copied(),
        }
    }
}

fn without_net(launches: &[&Launch]) -> usize {
    launches.iter().filter(|l| l.net.is_none()).count()
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
        return DASH.to_owned();
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
