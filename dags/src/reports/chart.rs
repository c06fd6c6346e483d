//! Bar charts of a report's counts as self-contained SVG (no script, no font, nothing fetched):
//! what the launch report draws beside its tables, for course task 4.2.

use rocket_dag::viz::svg::{Svg, num, text_width};

/// Bars drawn at most; the rest are summed into one "other" bar.
const MAX_BARS: usize = 15;
const BAR_HEIGHT: f64 = 18.0;
const GAP: f64 = 6.0;
const BAR_AREA: f64 = 360.0;
const MARGIN: f64 = 12.0;
const TITLE_HEIGHT: f64 = 28.0;
const FILL: &str = "#4c78a8";

/// A horizontal bar chart titled `title` of `bars` (label, count), in the given order; labels
/// and title are escaped, so data cannot add markup.
pub(super) fn bar_chart(title: &str, bars: &[(String, usize)]) -> String {
    let mut shown: Vec<(String, usize)> = bars.iter().take(MAX_BARS).cloned().collect();
    if bars.len() > MAX_BARS {
        let rest: usize = bars[MAX_BARS..].iter().map(|(_, n)| n).sum();
        shown.push((format!("{} others", bars.len() - MAX_BARS), rest));
    }
    let label_width = shown
        .iter()
        .map(|(l, _)| text_width(l, 12.0))
        .fold(80.0_f64, f64::max)
        .min(320.0);
    let most = shown.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let width = MARGIN * 2.0 + label_width + 8.0 + BAR_AREA + 48.0;
    let height = TITLE_HEIGHT + MARGIN + shown.len().max(1) as f64 * (BAR_HEIGHT + GAP);
    let mut svg = Svg::new(width, height);
    svg.text(
        "text",
        &[
            ("x", &num(MARGIN)),
            ("y", "18"),
            ("font-size", "14"),
            ("font-weight", "bold"),
        ],
        title,
    );
    if shown.is_empty() {
        svg.text(
            "text",
            &[("x", &num(MARGIN)), ("y", &num(TITLE_HEIGHT + 14.0))],
            "nothing to draw",
        );
    }
    for (i, (label, n)) in shown.iter().enumerate() {
        let y = TITLE_HEIGHT + i as f64 * (BAR_HEIGHT + GAP);
        let text_y = num(y + BAR_HEIGHT * 0.75);
        let bar_x = MARGIN + label_width + 8.0;
        let bar_w = (*n as f64 / most as f64 * BAR_AREA).max(1.0);
        svg.open("g", &[]);
        svg.title(&format!("{label}: {n}"));
        svg.text(
            "text",
            &[
                ("x", &num(MARGIN + label_width)),
                ("y", &text_y),
                ("text-anchor", "end"),
            ],
            label,
        );
        svg.empty(
            "rect",
            &[
                ("x", &num(bar_x)),
                ("y", &num(y)),
                ("width", &num(bar_w)),
                ("height", &num(BAR_HEIGHT)),
                ("fill", FILL),
            ],
        );
        svg.text(
            "text",
            &[("x", &num(bar_x + bar_w + 4.0)), ("y", &text_y)],
            &n.to_string(),
        );
        svg.close();
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_value_longest_for_the_most_and_labels_escaped() {
        let bars = vec![
            ("Falcon <script>".to_owned(), 6),
            ("Electron & co".to_owned(), 3),
        ];
        let svg = bar_chart("Launches per rocket family", &bars);
        // The bars' widths, in order: the most gets the whole area, half as many half of it.
        let rects: Vec<f64> = svg
            .split("<rect ")
            .skip(1)
            .map(|r| {
                let w = r.split(" width=\"").nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(rects, [BAR_AREA, BAR_AREA / 2.0]);
        assert!(svg.contains(">Falcon &lt;script&gt;</text>"), "{svg}");
        assert!(svg.contains(">Electron &amp; co</text>"), "{svg}");
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("href"));
    }

    #[test]
    fn many_values_end_in_one_other_bar() {
        let bars: Vec<(String, usize)> = (0..20).map(|i| (format!("r{i}"), 20 - i)).collect();
        let svg = bar_chart("t", &bars);
        assert_eq!(svg.matches("<rect").count(), MAX_BARS + 1);
        assert!(svg.contains("5 others"));
        let empty = bar_chart("t", &[]);
        assert!(empty.contains("nothing to draw"));
    }
}
