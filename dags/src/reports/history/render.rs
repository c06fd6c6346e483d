//! The history report as files: Markdown (sections, tables, text bars) and CSV (images per
//! day, success rates, errors, runs, pictures, durations).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::super::ReportError;
use super::super::files::Files;
use super::super::format::{DASH, bar, code, fmt_ms, fmt_utc, one_or_many, plural};
use super::super::table::{Align, Cell, Column, Table};
use super::*;

impl HistoryReport {
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
        self.success_table().render_markdown(&mut md);
        md.push_str(
            "\nThe success rate is succeeded / finished runs; queued and running runs have not \
             finished and are not counted.\n",
        );
        self.per_day_markdown(&mut md);
        self.errors_markdown(&mut md);
        self.runs_markdown(&mut md);
        self.pictures_markdown(&mut md);
        self.durations_markdown(&mut md);
        md
    }

    fn errors_markdown(&self, md: &mut String) {
        md.push_str(
            "\n## Download errors per day\n\nImage records that failed, per day of the runs' \
             logical dates and per error class (days without runs left out): how often \
             downloads fail, and why.\n\n",
        );
        let mut table = Table::new(vec![
            Column::md("Day", Align::Left),
            Column::md("Records", Align::Right),
            Column::md("Failed", Align::Right),
            Column::md("Rate", Align::Right),
            Column::md("By class", Align::Left),
        ]);
        for d in self.images_per_day.iter().filter(|d| d.runs > 0) {
            let rate = if d.image_records == 0 {
                Cell::dash()
            } else {
                Cell::pct(d.failed() as f64 / d.image_records as f64)
            };
            let classes: Vec<String> = d
                .failures_by_class
                .iter()
                .map(|(c, n)| format!("{} {n}", code(c)))
                .collect();
            table.row(vec![
                Cell::plain(d.date.to_string()),
                Cell::int(d.image_records),
                Cell::int(d.failed()),
                rate,
                if classes.is_empty() {
                    Cell::dash()
                } else {
                    Cell::plain(classes.join(", "))
                },
            ]);
        }
        if table.is_empty() {
            md.push_str("No run in the period.\n");
        } else {
            table.render_markdown(md);
        }
    }

    fn runs_markdown(&self, md: &mut String) {
        md.push_str(
            "\n## Runs and new pictures\n\nPer run of the period, oldest first: the hours \
             since the previous run, and what its pictures were — downloaded (new), already \
             present (nothing to fetch) or failed. More frequent runs find fewer new pictures.\n\n",
        );
        if self.runs.is_empty() {
            md.push_str("No run in the period.\n");
        } else {
            self.runs_table().render_markdown(md);
        }
    }

    fn pictures_markdown(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "\n## Most needed pictures\n\nThe pictures the runs of the period named most \
             often, with how many times each was downloaded, found already present or \
             failed{}.\n",
            if self.pictures.len() > PICTURES_LISTED {
                format!(
                    " (the first {PICTURES_LISTED} of {}: `history_pictures.csv` lists them all)",
                    self.pictures.len()
                )
            } else {
                String::new()
            }
        );
        if self.pictures.is_empty() {
            md.push_str("No picture in the period.\n");
        } else {
            self.pictures_table(Some(PICTURES_LISTED))
                .render_markdown(md);
        }
    }

    /// One row per run: its pictures and the hours since the previous run.
    fn runs_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::both("run_id", "Run", Align::Left),
            Column::both("logical_date", "Logical date", Align::Left),
            Column::both("hours_since_previous", "Hours since previous", Align::Right),
            Column::both("images_downloaded", "Downloaded", Align::Right),
            Column::both("images_present", "Already present", Align::Right),
            Column::both("images_failed", "Failed", Align::Right),
        ]);
        let count = |n: Option<usize>| n.map_or_else(Cell::dash, Cell::int);
        for r in &self.runs {
            table.row(vec![
                Cell::text(&r.run_id),
                Cell::utc(r.logical_date),
                r.hours_since_previous
                    .map_or_else(Cell::dash, |h| Cell::plain(format!("{h:.1}"))),
                count(r.images_downloaded),
                count(r.images_present),
                count(r.images_failed),
            ]);
        }
        table
    }

    /// The pictures, most needed first (at most `limit`).
    fn pictures_table(&self, limit: Option<usize>) -> Table {
        let mut table = Table::new(vec![
            Column::both("launch_name", "Launch", Align::Left),
            Column::both("url", "URL", Align::Left),
            Column::both("runs", "Runs", Align::Right),
            Column::both("downloaded", "Downloaded", Align::Right),
            Column::both("already_present", "Already present", Align::Right),
            Column::both("failed", "Failed", Align::Right),
            Column::both("last_seen", "Last seen", Align::Left),
        ]);
        for p in self.pictures.iter().take(limit.unwrap_or(usize::MAX)) {
            table.row(vec![
                Cell::text(&p.launch_name),
                Cell::text(&p.url),
                Cell::int(p.runs),
                Cell::int(p.downloaded),
                Cell::int(p.already_present),
                Cell::int(p.failed),
                Cell::utc(p.last_seen),
            ]);
        }
        table
    }

    /// Long form, one row per day and error class (CSV only).
    fn errors_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::csv("date"),
            Column::csv("image_records"),
            Column::csv("error_class"),
            Column::csv("failed"),
        ]);
        for d in &self.images_per_day {
            for (class, n) in &d.failures_by_class {
                table.row(vec![
                    Cell::plain(d.date.to_string()),
                    Cell::int(d.image_records),
                    Cell::text(class),
                    Cell::int(*n),
                ]);
            }
        }
        table
    }

    fn per_day_markdown(&self, md: &mut String) {
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
                one_or_many(self.runs_without_images, "has", "have"),
            );
        }
        md.push_str("\n\n");
        self.days_table().render_markdown(md);
    }

    fn durations_markdown(&self, md: &mut String) {
        md.push_str(
            "\n## Task durations\n\nEach task's duration in its last try, per run of the \
             period, oldest first. A mapped task shows the sum over its elements' last tries, \
             with the number of elements (×n): the time spent on it, not the wall-clock time, \
             as elements run concurrently. — means the task did not run, or its last try has \
             not ended.\n\n",
        );
        if self.runs.is_empty() {
            md.push_str("No run in the period.\n");
        } else {
            self.durations_pivot().render_markdown(md);
        }
    }

    /// The success rates: the period's, then every run's.
    fn success_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::both("scope", "Runs", Align::Left),
            Column::both("runs", "Recorded", Align::Right),
            Column::both("finished", "Finished", Align::Right),
            Column::both("success", "Succeeded", Align::Right),
            Column::both("failed", "Failed", Align::Right),
            Column::both("rate", "Success rate", Align::Right),
        ]);
        for (scope, r) in [
            (
                Cell::new(format!("Last {HISTORY_DAYS} days"), "last_30_days"),
                &self.success_rate.last_30_days,
            ),
            (
                Cell::new("All recorded runs", "overall"),
                &self.success_rate.overall,
            ),
        ] {
            table.row(vec![
                scope,
                Cell::int(r.runs),
                Cell::int(r.finished),
                Cell::int(r.success),
                Cell::int(r.failed),
                r.rate.map_or_else(Cell::dash, Cell::pct),
            ]);
        }
        table
    }

    /// Images per day, with a bar in Markdown.
    fn days_table(&self) -> Table {
        let most = self
            .images_per_day
            .iter()
            .map(|d| d.images_downloaded)
            .max()
            .unwrap_or(0);
        let mut table = Table::new(vec![
            Column::both("date", "Day", Align::Left),
            Column::both("runs", "Runs", Align::Right),
            Column::both("images_downloaded", "Images downloaded", Align::Right),
            Column::md("", Align::Left),
        ]);
        for d in &self.images_per_day {
            table.row(vec![
                Cell::plain(d.date.to_string()),
                Cell::int(d.runs),
                Cell::int(d.images_downloaded),
                Cell::plain(bar(d.images_downloaded, most)),
            ]);
        }
        table
    }

    /// Markdown: one row per run, one column per task.
    fn durations_pivot(&self) -> Table {
        let mut columns = vec![
            Column::md("Logical date", Align::Left),
            Column::md("Run", Align::Left),
            Column::md("State", Align::Left),
            Column::md("Images", Align::Right),
        ];
        columns.extend(self.tasks.iter().map(|t| Column::md(code(t), Align::Right)));
        let mut table = Table::new(columns);
        for run in &self.runs {
            let mut row = vec![
                Cell::utc(run.logical_date),
                Cell::code(&run.run_id),
                Cell::code(run.state.as_str()),
                run.images_downloaded.map_or_else(Cell::dash, Cell::int),
            ];
            for task in &self.tasks {
                let cell = match run.tasks.iter().find(|t| &t.task_id == task) {
                    Some(t) => {
                        let time = t
                            .seconds
                            .map_or_else(|| DASH.to_owned(), |s| fmt_ms(s * 1000.0));
                        match t.map_elements {
                            Some(n) => format!("{time} (×{n})"),
                            None => time,
                        }
                    }
                    None => DASH.to_owned(),
                };
                row.push(Cell::plain(cell));
            }
            table.row(row);
        }
        table
    }

    /// CSV: one row per run and task.
    fn durations_long(&self) -> Table {
        let mut table = Table::new(vec![
            Column::csv("logical_date"),
            Column::csv("run_id"),
            Column::csv("run_state"),
            Column::csv("task_id"),
            Column::csv("map_elements"),
            Column::csv("seconds"),
        ]);
        for run in &self.runs {
            for t in &run.tasks {
                table.row(vec![
                    Cell::utc(run.logical_date),
                    Cell::text(&run.run_id),
                    Cell::plain(run.state.as_str()),
                    Cell::text(&t.task_id),
                    t.map_elements.map_or_else(Cell::dash, Cell::int),
                    t.seconds.map_or_else(Cell::dash, Cell::seconds),
                ]);
            }
        }
        table
    }

    /// Writes `history.json`, `history.csv` (images per day), `history_success_rate.csv`,
    /// `history_errors.csv` (failures per day and error class), `history_runs.csv` (each
    /// run's pictures and the hours since the previous run), `history_pictures.csv` (every
    /// picture of the period, most needed first), `history_durations.csv` (one row per run and
    /// task) and `history.md` into `dir` (created if missing), each atomically; returns their
    /// paths.
    ///
    /// # Errors
    ///
    /// [`ReportError::Write`] when a file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        Files::default()
            .json("history.json", self)?
            .csv("history.csv", &self.days_table())?
            .csv("history_success_rate.csv", &self.success_table())?
            .csv("history_errors.csv", &self.errors_table())?
            .csv("history_runs.csv", &self.runs_table())?
            .csv("history_pictures.csv", &self.pictures_table(None))?
            .csv("history_durations.csv", &self.durations_long())?
            .markdown("history.md", self.to_markdown())
            .write(dir)
    }
}
