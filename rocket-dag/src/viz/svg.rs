//! A small SVG writer: elements with escaped attributes and text, in one `String`.
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
pub const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

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
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// Roughly how wide `text` is at `size` px in a sans-serif font (for box sizes; no font
/// metrics are available without a renderer).
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.6
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
    fn numbers() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(1.23456), "1.23");
        assert_eq!(num(-0.5), "-0.5");
    }
}
