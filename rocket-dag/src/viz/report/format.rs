//! Text of the report page: Markdown that links and fetches nothing, JSON and text cut with a
//! note, sizes, instants and durations, doc headlines.

use std::time::Duration;

use chrono::{DateTime, Utc};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

use super::JSON_LIMIT;

/// Markdown to HTML (tables and strikethrough on). Raw HTML is shown as text; links keep their
/// text (the address follows in parentheses) and images become their alt text, so the result
/// links and fetches nothing.
pub(in crate::viz) fn markdown_to_html(md: &str) -> String {
    let parser = Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut links: Vec<CowStr<'_>> = Vec::new();
    for ev in parser {
        match ev {
            Event::Html(s) | Event::InlineHtml(s) => events.push(Event::Text(s)),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url),
            Event::End(TagEnd::Link) => {
                if let Some(url) = links.pop() {
                    let shown = matches!(events.last(), Some(Event::Text(t)) if **t == *url);
                    if !url.is_empty() && !url.starts_with('#') && !shown {
                        events.push(Event::Text(format!(" ({url})").into()));
                    }
                }
            }
            Event::Start(Tag::Image { .. }) => events.push(Event::Text("[image: ".into())),
            Event::End(TagEnd::Image) => events.push(Event::Text("]".into())),
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

/// `text` cut to at most `limit` bytes (at a line end when there is one in the last quarter,
/// else at a character boundary), and a note saying what was left out.
pub(in crate::viz) fn truncate(text: &str, limit: usize) -> (&str, Option<String>) {
    if text.len() <= limit {
        return (text, None);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(nl) = text[..end].rfind('\n')
        && nl >= limit * 3 / 4
    {
        end = nl + 1;
    }
    let note = cut_note(end as u64, text.len() as u64);
    (&text[..end], Some(note))
}

/// "Truncated: showing the first 20.0 KiB of 3.1 MiB."
pub(super) fn cut_note(kept: u64, total: u64) -> String {
    format!(
        "Truncated: showing the first {} of {}.",
        human_bytes(kept),
        human_bytes(total)
    )
}

/// JSON text pretty-printed (as is when it does not parse), cut at [`JSON_LIMIT`].
pub(super) fn pretty_json(json: &str) -> (String, Option<String>) {
    let pretty = serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_owned());
    let (kept, note) = truncate(&pretty, JSON_LIMIT);
    (kept.to_owned(), note)
}

/// `512 B`, `20.0 KiB`, `3.1 MiB`.
pub(in crate::viz) fn human_bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if f < K {
        format!("{n} B")
    } else if f < K * K {
        format!("{:.1} KiB", f / K)
    } else if f < K * K * K {
        format!("{:.1} MiB", f / K / K)
    } else {
        format!("{:.1} GiB", f / K / K / K)
    }
}

pub(in crate::viz) fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}

pub(super) fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.3}s")
    } else if s < 3600.0 {
        format!("{}m {:04.1}s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!(
            "{}h {:02}m {:02}s",
            (s / 3600.0).floor(),
            (s % 3600.0 / 60.0).floor() as u64,
            (s % 60.0).floor() as u64
        )
    }
}

pub(super) fn span(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> String {
    end.and_then(|e| (e - start).to_std().ok())
        .map_or_else(|| "—".to_owned(), fmt_secs)
}

/// Removes an XML declaration or doctype before an inline `<svg>`.
pub(super) fn inline_svg(svg: &str) -> String {
    match svg.find("<svg") {
        Some(i) => svg[i..].trim_end().to_owned(),
        None => svg.trim().to_owned(),
    }
}

/// The first sentence of a doc comment's first paragraph, on one line, at most ~160
/// characters.
pub(super) fn first_sentence(doc: &str) -> String {
    let para = doc
        .trim()
        .split("\n\n")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let sentence = match para.find(". ") {
        Some(i) => &para[..=i],
        None => para.as_str(),
    };
    if sentence.chars().count() > 160 {
        let cut: String = sentence.chars().take(159).collect();
        format!("{}…", cut.trim_end())
    } else {
        sentence.to_owned()
    }
}
