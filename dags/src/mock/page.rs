//! The launch pages the mock serves: the configured document with its images pointed at the
//! mock, filtered by NET and paginated with local `next`/`previous` links.

use bytes::Bytes;
use serde_json::Value;

use super::LAUNCHES_PATH;
use super::server::ServerState;

pub(super) enum Launches {
    /// A page document: its launches, served in slices.
    Page(Vec<Value>),
    /// Anything else, served as given.
    Raw(Bytes),
}

impl Launches {
    /// The launches of `json`: a page document, its image URLs rewritten to `base` if
    /// `rewrite_images`, or anything else, served as given.
    pub(super) fn of(json: String, rewrite_images: bool, base: &str) -> Launches {
        match serde_json::from_str::<Value>(&json) {
            Ok(Value::Object(mut page)) if page.get("results").is_some_and(Value::is_array) => {
                let Some(Value::Array(mut results)) = page.remove("results") else {
                    unreachable!("checked above")
                };
                if rewrite_images {
                    for launch in &mut results {
                        localize_images(launch, base);
                    }
                }
                Launches::Page(results)
            }
            _ => Launches::Raw(Bytes::from(json)),
        }
    }
}

impl ServerState {
    pub(super) fn launches_body(&self, path: &str, query: Option<&str>) -> Bytes {
        let all = match &self.launches {
            Launches::Raw(bytes) => return bytes.clone(),
            Launches::Page(results) => results,
        };
        let revised: Vec<Value>;
        let all: &[Value] = match query_usize(query, "revision") {
            Some(r) if r > 0 => {
                revised = revise(all, r);
                &revised
            }
            _ => all,
        };
        let net = |l: &Value| {
            l.get("net")
                .and_then(Value::as_str)
                .and_then(|n| chrono::DateTime::parse_from_rfc3339(n).ok())
        };
        let bound = |key: &str| {
            query_str(query, key).and_then(|v| chrono::DateTime::parse_from_rfc3339(&v).ok())
        };
        let filtered: Vec<Value>;
        let results: &[Value] = if let Some(term) = query_str(query, "search") {
            // LL2's `search`: launch, rocket and provider names, case ignored.
            let term = term.to_lowercase();
            filtered = all
                .iter()
                .filter(|l| {
                    [
                        l.pointer("/name"),
                        l.pointer("/rocket/configuration/name"),
                        l.pointer("/rocket/configuration/full_name"),
                        l.pointer("/rocket/configuration/family"),
                        l.pointer("/launch_service_provider/name"),
                    ]
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|s| s.to_lowercase().contains(&term))
                })
                .cloned()
                .collect();
            &filtered
        } else if path == LAUNCHES_PATH || path == LAUNCHES_PATH.trim_end_matches('/') {
            all
        } else {
            let (gte, lt) = (bound("net__gte"), bound("net__lt"));
            let mut f: Vec<Value> = all
                .iter()
                .filter(|l| {
                    let n = net(l);
                    gte.is_none_or(|g| n.is_some_and(|n| n >= g))
                        && lt.is_none_or(|t| n.is_some_and(|n| n < t))
                })
                .cloned()
                .collect();
            f.sort_by_key(|l| net(l));
            filtered = f;
            &filtered
        };
        let total = results.len();
        let offset = query_usize(query, "offset").unwrap_or(0).min(total);
        let limit = query_usize(query, "limit")
            .or(self.page_size)
            .unwrap_or(total)
            .max(1);
        let end = offset.saturating_add(limit).min(total);
        // Other query parameters (the NET window) carry over to the next page.
        let rest: String = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("limit=") && !p.starts_with("offset="))
            .map(|p| format!("&{p}"))
            .collect();
        let link =
            |offset: usize| format!("{}{path}?limit={limit}&offset={offset}{rest}", self.base);
        let page = serde_json::json!({
            "count": total,
            "next": if end < total { Some(link(end)) } else { self.next_page.clone() },
            "previous": (offset > 0).then(|| link(offset.saturating_sub(limit))),
            "results": &results[offset..end],
        });
        Bytes::from(page.to_string())
    }
}

/// The launch list as the API might show it `r` revisions later: the last `r` launches gone
/// (launched), the first `r` moved `r` days later with the status "To Be Confirmed", a new
/// picture (`/images/revised-<r>-<name>`) and `last_updated` set to 2026-03-05 12:00 UTC plus
/// `r` hours.
fn revise(all: &[Value], r: usize) -> Vec<Value> {
    let keep = all.len().saturating_sub(r);
    let mut out: Vec<Value> = all[..keep].to_vec();
    let updated = chrono::DateTime::parse_from_rfc3339("2026-03-05T12:00:00Z")
        .map(|t| t + chrono::Duration::hours(r as i64))
        .ok();
    for launch in out.iter_mut().take(r) {
        let moved = launch
            .get("net")
            .and_then(Value::as_str)
            .and_then(|n| chrono::DateTime::parse_from_rfc3339(n).ok())
            .map(|n| n + chrono::Duration::days(r as i64));
        if let Some(obj) = launch.as_object_mut() {
            if let Some(net) = moved {
                obj.insert("net".into(), Value::String(net.to_rfc3339()));
            }
            obj.insert(
                "status".into(),
                serde_json::json!({"id": 2, "name": "To Be Confirmed", "abbrev": "TBC"}),
            );
            if let Some(t) = updated {
                obj.insert("last_updated".into(), Value::String(t.to_rfc3339()));
            }
            if let Some(Value::String(url)) = obj.get_mut("image") {
                *url = url.replacen("/images/", &format!("/images/revised-{r}-"), 1);
            }
        }
    }
    out
}

/// Rewrites `image` (a URL, or an object with `image_url`/`thumbnail_url`) to this server.
pub(super) fn localize_images(launch: &mut Value, base: &str) {
    match launch.get_mut("image") {
        Some(Value::String(url)) => *url = local_image_url(url, base),
        Some(Value::Object(image)) => {
            for key in ["image_url", "thumbnail_url"] {
                if let Some(Value::String(url)) = image.get_mut(key) {
                    *url = local_image_url(url, base);
                }
            }
        }
        _ => {}
    }
}

pub(super) fn local_image_url(original: &str, base: &str) -> String {
    let url = reqwest::Url::parse(original).ok();
    // The segment stays percent-encoded, so it is still a valid path.
    let segment = url
        .as_ref()
        .and_then(reqwest::Url::path_segments)
        .and_then(|mut segments| segments.next_back())
        .filter(|s| !s.is_empty())
        .unwrap_or("image");
    format!("{base}/images/{segment}")
}

pub(super) fn query_str(query: Option<&str>, key: &str) -> Option<String> {
    let raw = query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)?
        .1;
    Some(
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

pub(super) fn query_usize(query: Option<&str>, key: &str) -> Option<usize> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
}

/// An r/SpaceX document with every patch and Flickr link pointed at `base`, when it is a list
/// of launches (or a query page); anything else, as given.
pub(super) fn spacex_body(json: &str, rewrite_images: bool, base: &str) -> Bytes {
    let Ok(mut doc) = serde_json::from_str::<Value>(json) else {
        return Bytes::from(json.to_owned());
    };
    if !rewrite_images {
        return Bytes::from(json.to_owned());
    }
    let launches = match &mut doc {
        Value::Array(items) => Some(items),
        Value::Object(page) => match page.get_mut("docs") {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        },
        _ => None,
    };
    for launch in launches.into_iter().flatten() {
        let Some(links) = launch.get_mut("links") else {
            continue;
        };
        if let Some(Value::Object(patch)) = links.get_mut("patch") {
            for url in patch.values_mut() {
                if let Value::String(u) = url {
                    *u = local_image_url(u, base);
                }
            }
        }
        if let Some(Value::Object(flickr)) = links.get_mut("flickr") {
            for list in flickr.values_mut() {
                for url in list.as_array_mut().into_iter().flatten() {
                    if let Value::String(u) = url {
                        *u = local_image_url(u, base);
                    }
                }
            }
        }
    }
    Bytes::from(doc.to_string())
}
