//! `…/taskInstances/{task_id}/logs/{task_try_number}`: an attempt's log, read only through
//! [`crate::home::attempt_log`] from checked ids, as JSON (`content`, `continuation_token`) or
//! as `text/plain`, chosen by the `Accept` header as Airflow chooses.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use base64::Engine as _;
use serde_json::json;

use super::params::{self, Params};
use super::{ApiError, ApiResult};
use crate::store::NOT_MAPPED;
use crate::web::AppState;

/// `GET …/logs/{task_try_number}`: `map_index`, `full_content`, `token`.
pub(super) async fn get_log(
    State(state): State<AppState>,
    Path((dag_id, run_id, task_id, try_number)): Path<(String, String, String, String)>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> ApiResult {
    let q = Params(q);
    let dag = params::dag(&state, &dag_id)?;
    crate::ids::task(&task_id)?;
    let run = params::run(&state, &dag_id, &run_id).await?;
    let try_number: u32 = try_number.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "'{try_number}' is not of type 'integer' (task_try_number)"
        ))
    })?;
    let map_index = q.int("map_index")?.unwrap_or(i64::from(NOT_MAPPED));
    let not_found = || ApiError::NotFound {
        title: "TaskInstance not found",
        detail: None,
    };
    if dag.task(&task_id).is_none() || map_index < i64::from(NOT_MAPPED) {
        return Err(not_found());
    }
    let index = u32::try_from(map_index).ok();
    let offset = match q.one("token") {
        Some(t) => read_token(t)?,
        None => 0,
    };
    let path = crate::home::attempt_log(
        &state.home,
        dag.id(),
        &run.run_id,
        &task_id,
        index,
        try_number,
    )?;
    let text = match tokio::fs::read(&path).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("*** Log file does not exist: attempt {try_number} of {task_id}\n")
        }
        Err(e) => {
            tracing::warn!("REST API: cannot read {}: {e}", path.display());
            format!("*** Cannot read the log of attempt {try_number}\n")
        }
    };
    let full = q.bool("full_content")?.unwrap_or(false);
    let start = if full { 0 } else { offset.min(text.len()) };
    let start = (start..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let chunk = &text[start..];
    if wants_text(&headers) {
        let mut r = chunk.to_owned().into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        return Ok(r);
    }
    let host = crate::process::hostname();
    let token = make_token(text.len());
    Ok(super::json(json!({
        "content": python_repr(&host, chunk),
        "continuation_token": token,
    })))
}

/// Whether the `Accept` header prefers `text/plain` over `application/json`, as werkzeug's
/// `best_match(["text/plain", "application/json"])` decides: the highest quality, then the most
/// specific match, then the first offered; no header means JSON.
fn wants_text(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // The most specific range that matches an offer, and its quality.
    let score = |offer: &str| -> Option<(u8, u32)> {
        let (kind, sub) = offer.split_once('/')?;
        accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let range = parts.next()?.trim();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|v| v.parse::<f32>().ok())
                    .unwrap_or(1.0);
                let (rk, rs) = range.split_once('/')?;
                let specificity = match (rk, rs) {
                    ("*", "*") => 0,
                    (k, "*") if k == kind => 1,
                    (k, s) if k == kind && s == sub => 2,
                    _ => return None,
                };
                Some((specificity, (q * 1000.0) as u32))
            })
            .max()
    };
    let usable = |s: Option<(u8, u32)>| s.filter(|&(_, q)| q > 0);
    match (
        usable(score("text/plain")),
        usable(score("application/json")),
    ) {
        // JSON wins only with a higher quality, or the same quality and a more specific range.
        (Some((ts, tq)), Some((js, jq))) => !(jq > tq || (jq == tq && js > ts)),
        (Some(_), None) => true,
        _ => false,
    }
}

/// A continuation token: where the log read so far ends. Not a secret (it only moves within
/// the same file), so not signed.
fn make_token(log_pos: usize) -> String {
    let meta = json!({ "end_of_log": true, "log_pos": log_pos });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(meta.to_string())
}

fn read_token(token: &str) -> ApiResult<usize> {
    let bad = || {
        ApiError::BadRequest(
            "Bad Signature. Please use only the tokens provided by the API.".into(),
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let meta: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    meta.get("log_pos")
        .and_then(|v| v.as_u64())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .ok_or_else(bad)
}

/// The log as Airflow 2.8's API writes `content`: the Python `repr` of `[(host, text)]`.
pub(crate) fn python_repr(host: &str, text: &str) -> String {
    format!("[({}, {})]", py_str(host), py_str(text))
}

/// Python's `repr` of a `str`.
fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_pythons_repr_and_accept_is_werkzeugs() {
        assert_eq!(python_repr("h", "a\nb"), r"[('h', 'a\nb')]");
        assert_eq!(py_str("it's"), r#""it's""#);
        assert_eq!(py_str("'\""), r#"'\'"'"#);
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT, v.parse().unwrap());
            m
        };
        assert!(!wants_text(&HeaderMap::new()));
        assert!(!wants_text(&h("application/json")));
        assert!(wants_text(&h("text/plain")));
        assert!(wants_text(&h("*/*")));
        assert!(!wants_text(&h("text/plain;q=0.5, application/json")));
        assert!(!wants_text(&h("text/plain;q=0.1, */*")));
        assert!(!wants_text(&h("text/*, application/json")));
        assert_eq!(read_token(&make_token(42)).unwrap(), 42);
        assert!(read_token("nope!").is_err());
    }
}
