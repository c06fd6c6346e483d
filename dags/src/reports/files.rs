//! The files of a report: its JSON, its tables as CSV and its Markdown, encoded first, then
//! each written atomically into the report directory.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ReportError;
use super::table::Table;

/// A report's files, encoded, in the order they are written.
#[derive(Default)]
pub(super) struct Files(Vec<ReportFile>);

/// One file of a report: its name in the report directory and its content.
struct ReportFile {
    name: &'static str,
    bytes: Vec<u8>,
}

impl Files {
    /// Adds `report` as pretty JSON, ending with a line break.
    pub(super) fn json(
        mut self,
        name: &'static str,
        report: &impl Serialize,
    ) -> Result<Files, ReportError> {
        let mut bytes = serde_json::to_vec_pretty(report).map_err(|e| encode(name, e))?;
        bytes.push(b'\n');
        self.0.push(ReportFile { name, bytes });
        Ok(self)
    }

    /// Adds the CSV columns of `table`, every cell made safe for a spreadsheet.
    pub(super) fn csv(mut self, name: &'static str, table: &Table) -> Result<Files, ReportError> {
        // Not `flexible`: a row with the wrong number of cells is a bug, reported as such.
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .write_record(table.csv_header())
            .map_err(|e| encode(name, e))?;
        for row in table.csv_rows() {
            writer.write_record(row).map_err(|e| encode(name, e))?;
        }
        let bytes = writer.into_inner().map_err(|e| encode(name, e.error()))?;
        self.0.push(ReportFile { name, bytes });
        Ok(self)
    }

    /// Adds a Markdown document.
    pub(super) fn markdown(mut self, name: &'static str, markdown: String) -> Files {
        self.0.push(ReportFile {
            name,
            bytes: markdown.into_bytes(),
        });
        self
    }

    /// Adds an SVG picture.
    pub(super) fn svg(mut self, name: &'static str, svg: String) -> Files {
        self.0.push(ReportFile {
            name,
            bytes: svg.into_bytes(),
        });
        self
    }

    /// Writes every file into `dir` (created if missing), each atomically; their paths, in
    /// order.
    pub(super) fn write(self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        std::fs::create_dir_all(dir).map_err(|cause| ReportError::Write {
            path: dir.to_owned(),
            cause,
        })?;
        self.0
            .into_iter()
            .map(|f| write_atomically(dir, f.name, &f.bytes))
            .collect()
    }
}

fn encode(name: &str, error: impl std::fmt::Display) -> ReportError {
    ReportError::Encode {
        name: name.to_owned(),
        message: error.to_string(),
    }
}

/// Writes `bytes` to `dir/name` through a hidden temporary file in the same directory
/// (renaming within one file system is atomic), so a reader sees the old file or the new one,
/// never a part; the temporary file is removed if anything fails before the rename.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    let path = dir.join(name);
    rocket_dag::fs::write_atomically(&path, bytes).map_err(|cause| ReportError::Write {
        path: path.clone(),
        cause,
    })?;
    Ok(path)
}
