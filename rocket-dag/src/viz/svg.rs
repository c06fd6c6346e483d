//! A small SVG writer (elements with escaped attributes and text, in one `String`) and what the
//! pictures measure alike: numbers as SVG text, text widths, columns, edges routed around boxes.
//!
//! Every picture here is a few hundred elements, written once; a DOM or a drawing crate would
//! add nothing but build time. Escaping goes through quick-xml.

use std::fmt::Write as _;

use quick_xml::escape::escape;

/// An SVG document being written.
#[derive(Debug)]
pub struct Svg {
    out: String,
    open: Vec<&'static str>,
}

/// Font stack used by every picture (no web fonts: nothing is fetched).
pub use super::palette::FONT;

impl Svg {
    /// Starts a `width` × `height` document (user units = CSS pixels).
    pub fn new(width: f64, height: f64) -> Svg {
        let mut out = String::with_capacity(16 * 1024);
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{font}" font-size="12">"#,
            w = num(width),
            h = num(height),
            font = FONT,
        );
        Svg {
            out,
            open: vec!["svg"],
        }
    }

    fn start(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(tag);
        for (k, v) in attrs {
            let _ = write!(self.out, r#" {k}="{}""#, escape(*v));
        }
    }

    /// Opens `<tag …>`; close it with [`Svg::close`].
    pub fn open(&mut self, tag: &'static str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start(tag, attrs);
        self.out.push('>');
        self.open.push(tag);
        self
    }

    /// Closes the innermost open element.
    pub fn close(&mut self) -> &mut Self {
        if let Some(tag) = self.open.pop() {
            let _ = write!(self.out, "</{tag}>");
        }
        self
    }

    /// `<tag …/>`.
    pub fn empty(&mut self, tag: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start(tag, attrs);
        self.out.push_str("/>");
        self
    }

    /// `<tag …>text</tag>` with `text` escaped.
    pub fn text(&mut self, tag: &str, attrs: &[(&str, &str)], text: &str) -> &mut Self {
        self.start(tag, attrs);
        self.out.push('>');
        self.out.push_str(&escape(text));
        let _ = write!(self.out, "</{tag}>");
        self
    }

    /// A tooltip for the enclosing element (`<title>`), shown on hover in browsers.
    pub fn title(&mut self, text: &str) -> &mut Self {
        self.text("title", &[], text)
    }

    /// `<defs>` with the arrowhead edges end with (`marker-end="url(#arrow)"`), filled `fill`;
    /// its tip sits `ref_x` (of 10) along the edge's last segment.
    pub(crate) fn arrow_marker(&mut self, ref_x: &str, fill: &str) -> &mut Self {
        self.open("defs", &[]).open(
            "marker",
            &[
                ("id", "arrow"),
                ("viewBox", "0 0 10 10"),
                ("refX", ref_x),
                ("refY", "5"),
                ("markerWidth", "7"),
                ("markerHeight", "7"),
                ("orient", "auto-start-reverse"),
            ],
        );
        self.empty("path", &[("d", "M0,0 L10,5 L0,10 z"), ("fill", fill)]);
        self.close().close()
    }

    /// Closes every open element and returns the document.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

/// A coordinate or length as SVG text: at most two decimals, no trailing zeros.
pub fn num(v: f64) -> String {
    let mut s = String::with_capacity(8);
    push_num(&mut s, v);
    s
}

/// [`num`] appended to `buf`.
pub(crate) fn push_num(buf: &mut String, v: f64) {
    let r = (v * 100.0).round() / 100.0;
    let _ = if r == r.trunc() {
        write!(buf, "{}", r as i64)
    } else {
        write!(buf, "{r}")
    };
}

/// [`num`] into `buf`, a buffer reused for many attributes.
pub(crate) fn set_num(buf: &mut String, v: f64) {
    buf.clear();
    push_num(buf, v);
}

/// Roughly how wide `text` is at `size` px in a sans-serif font (for box sizes; no font
/// metrics are available without a renderer).
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.6
}

/// A column of a left-to-right layout: its x range and the vertical extents of its boxes.
#[derive(Debug, Clone, Default)]
pub struct Column {
    /// Left edge.
    pub left: f64,
    /// Right edge.
    pub right: f64,
    /// `(top, bottom)` of each box in it.
    pub boxes: Vec<(f64, f64)>,
}

/// The columns of a left-to-right layout: column `r` runs from `left[r]` to `left[r] +
/// width[r]` and holds the nodes `ranks[r]`, whose `(top, bottom)` `extent` gives.
pub(crate) fn columns(
    ranks: &[Vec<usize>],
    left: &[f64],
    width: &[f64],
    extent: impl Fn(usize) -> (f64, f64),
) -> Vec<Column> {
    ranks
        .iter()
        .enumerate()
        .map(|(r, rank)| Column {
            left: left[r],
            right: left[r] + width[r],
            boxes: rank.iter().map(|&v| extent(v)).collect(),
        })
        .collect()
}

/// The path of an edge from `(x1, y1)` (a box's right side) to `(x2, y2)` (another's left
/// side) that crosses the `between` columns without passing through their boxes: across each
/// column it runs straight, at the height it would have had, moved above or below a box in the
/// way; between columns it bends with horizontal tangents (the gaps hold no box).
pub fn route(x1: f64, y1: f64, x2: f64, y2: f64, between: &[Column], clearance: f64) -> String {
    let mut points = vec![(x1, y1)];
    for c in between {
        let t = if x2 > x1 {
            ((c.left + c.right) / 2.0 - x1) / (x2 - x1)
        } else {
            0.5
        };
        let ideal = y1 + (y2 - y1) * t.clamp(0.0, 1.0);
        points.push((c.left, free_height(ideal, &c.boxes, clearance)));
        let y = points.last().map_or(ideal, |p| p.1);
        points.push((c.right, y));
    }
    points.push((x2, y2));
    let mut d = format!("M{},{}", num(x1), num(y1));
    for w in points.windows(2) {
        let ((ax, ay), (bx, by)) = (w[0], w[1]);
        if ay == by {
            let _ = write!(d, " L{},{}", num(bx), num(by));
        } else {
            let bend = ((bx - ax) / 2.0).max(20.0);
            let _ = write!(
                d,
                " C{},{} {},{} {},{}",
                num(ax + bend),
                num(ay),
                num(bx - bend),
                num(by),
                num(bx),
                num(by)
            );
        }
    }
    d
}

/// The height nearest `ideal` that stays `clearance` away from every box.
fn free_height(ideal: f64, boxes: &[(f64, f64)], clearance: f64) -> f64 {
    let blocked = |y: f64| {
        boxes
            .iter()
            .any(|&(top, bottom)| y > top - clearance && y < bottom + clearance)
    };
    if !blocked(ideal) {
        return ideal;
    }
    // Candidates: just above or below each box; the closest free one wins.
    let mut best: Option<f64> = None;
    for &(top, bottom) in boxes {
        for y in [top - clearance, bottom + clearance] {
            if !blocked(y) && best.is_none_or(|b| (y - ideal).abs() < (b - ideal).abs()) {
                best = Some(y);
            }
        }
    }
    best.unwrap_or(ideal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_closes() {
        let mut s = Svg::new(10.0, 5.5);
        s.open("g", &[("class", "a\"b")])
            .text("text", &[("x", "1")], "<x> & y");
        let out = s.finish();
        assert!(
            out.starts_with(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"5.5\""
            )
        );
        assert!(
            out.contains(r#"<g class="a&quot;b"><text x="1">&lt;x&gt; &amp; y</text></g></svg>"#)
        );
    }

    #[test]
    fn routes_go_around_boxes_in_the_way() {
        let column = Column {
            left: 100.0,
            right: 200.0,
            boxes: vec![(40.0, 80.0), (90.0, 130.0)],
        };
        // Straight across at y = 60 would cross the first box: above it is closer.
        let d = route(0.0, 60.0, 300.0, 60.0, std::slice::from_ref(&column), 6.0);
        assert!(d.contains("L200,34"), "{d}");
        // A free height is kept.
        let d = route(0.0, 20.0, 300.0, 20.0, &[column], 6.0);
        assert_eq!(d, "M0,20 L100,20 L200,20 L300,20");
    }

    #[test]
    fn numbers() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(1.23456), "1.23");
        assert_eq!(num(-0.5), "-0.5");
    }
}
