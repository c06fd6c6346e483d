//! Every colour and the font of the pictures and pages, in one place: the task states', the
//! layers', the greys and what each grey is for.
//!
//! Greys are Tailwind's `gray` scale (the run report's stylesheet uses the same), except the
//! lane diagrams' bands and asset outlines, which are `slate`.

use crate::store::{RunStateRecord, TaskStateRecord};
use crate::task::Layer;

/// Font stack of every picture and page (no web fonts: nothing is fetched).
pub const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

// ------------------------------------------------------------------------------------ greys

/// White.
pub(crate) const WHITE: &str = "#ffffff";
const GRAY_50: &str = "#f9fafb";
const GRAY_100: &str = "#f3f4f6";
const GRAY_200: &str = "#e5e7eb";
const GRAY_300: &str = "#d1d5db";
const GRAY_500: &str = "#6b7280";
const GRAY_700: &str = "#374151";
const GRAY_800: &str = "#1f2937";
const GRAY_900: &str = "#111827";
const SLATE_50: &str = "#f8fafc";
const SLATE_200: &str = "#e2e8f0";
const SLATE_400: &str = "#94a3b8";
const SLATE_600: &str = "#475569";

// ------------------------------------------------------------------------------------ roles

/// Behind every picture, and a ring around a chart's markers.
pub(crate) const BACKGROUND: &str = WHITE;
/// Inside a box that has no colour of its own (no layer, not reached by the run).
pub(crate) const NODE_FILL: &str = WHITE;
/// Text.
pub(crate) const TEXT: &str = GRAY_900;
/// Secondary text, tick labels and axis lines.
pub(crate) const MUTED: &str = GRAY_500;
/// A second line of text inside a task's box (a mapped task's instance count).
pub(crate) const TEXT_SOFT: &str = GRAY_700;
/// Grid lines, and the borders of the pages' tables.
pub(crate) const GRID: &str = GRAY_200;
/// Every other row of a chart, and table headers.
pub(crate) const STRIPE: &str = GRAY_50;
/// Arrows between boxes.
pub(crate) const EDGE: &str = GRAY_500;
/// The outline of a task's box and of a legend's swatches.
pub(crate) const NODE_STROKE: &str = GRAY_700;
/// The outline of an asset's shape.
pub(crate) const ASSET_STROKE: &str = SLATE_600;
/// The outline of a Gantt bar.
pub(crate) const BAR_STROKE: &str = GRAY_800;
/// The border of a lane and of its title strip.
pub(crate) const LANE_STROKE: &str = SLATE_400;
/// The band of the "Other" lane (nodes without a layer).
const OTHER_LANE_FILL: &str = SLATE_50;
/// The title strip of the "Other" lane.
const OTHER_LANE_HEADER: &str = SLATE_200;

/// A table row to look at first (the task to optimise).
pub(crate) const HIGHLIGHT: &str = "#fef3c7";
/// The badge on that row.
pub(crate) const HIGHLIGHT_BADGE: &str = "#b45309";
/// Slower than usual.
pub(crate) const SLOWER: &str = "#b91c1c";
/// Faster than usual.
pub(crate) const FASTER: &str = "#15803d";

/// Line colours of the durations chart (Tableau 10); after ten tasks they repeat, dashed.
pub(crate) const SERIES: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

// ----------------------------------------------------------------------- states and layers

/// Fill colour of a task state (Airflow's palette, softened for print).
pub fn state_color(state: TaskStateRecord) -> &'static str {
    match state {
        TaskStateRecord::Success => "#4ade80",
        TaskStateRecord::Failed => "#f87171",
        TaskStateRecord::Running => "#a3e635",
        TaskStateRecord::Queued => GRAY_300,
        TaskStateRecord::UpForRetry => "#facc15",
        TaskStateRecord::UpstreamFailed => "#fb923c",
        TaskStateRecord::Skipped => "#f9a8d4",
        _ => GRAY_100,
    }
}

/// Colour of a run state: the task state of the same name's.
pub(crate) fn run_state_color(s: RunStateRecord) -> &'static str {
    state_color(match s {
        RunStateRecord::Success => TaskStateRecord::Success,
        RunStateRecord::Failed => TaskStateRecord::Failed,
        RunStateRecord::Running => TaskStateRecord::Running,
        RunStateRecord::Queued => TaskStateRecord::Queued,
    })
}

/// Fill colour of a layer; `None` (no layer) is white.
pub fn layer_color(layer: Option<Layer>) -> &'static str {
    match layer {
        Some(Layer::Source) => "#dbeafe",
        Some(Layer::Storage) => "#dcfce7",
        Some(Layer::Business) => "#ffedd5",
        None => NODE_FILL,
    }
}

/// A lane's band: its layer's colour halfway to white (the title strip gets the colour).
pub(crate) fn lane_fill(lane: Option<Layer>) -> String {
    match lane {
        Some(_) => lighten(layer_color(lane)),
        None => OTHER_LANE_FILL.to_owned(),
    }
}

/// A lane's title strip: its layer's colour.
pub(crate) fn lane_header_fill(lane: Option<Layer>) -> &'static str {
    match lane {
        Some(_) => layer_color(lane),
        None => OTHER_LANE_HEADER,
    }
}

/// `#rrggbb` mixed half and half with white.
pub(crate) fn lighten(hex: &str) -> String {
    let channel =
        |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("ff"), 16).unwrap_or(0xff) as u16;
    let mix = |c: u16| (c + 0xff).div_ceil(2);
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(channel(1)),
        mix(channel(3)),
        mix(channel(5))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_lighten_towards_white() {
        assert_eq!(lighten("#000000"), "#808080");
        assert_eq!(lighten("#ffffff"), "#ffffff");
        assert_eq!(lighten("#dbeafe"), "#edf5ff");
    }
}
