//! What every response carries and what every state-changing request must show.
//!
//! - Headers: a Content-Security-Policy that allows nothing from elsewhere (scripts only from
//!   this server, no inline script, no frames), `nosniff`, no framing, no referrer to others.
//! - A POST, PATCH, PUT or DELETE from another origin (its `Origin` header, or the browser's
//!   `Sec-Fetch-Site: cross-site`) is refused with 403 before any handler runs. Forms also
//!   carry a CSRF token ([`check_csrf`]); API bodies must be JSON, which a cross-site form
//!   cannot send.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::Caller;

/// The Content-Security-Policy of every response.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; font-src 'none'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The security layer: refuses cross-origin state changes, other sites' embedding (an
/// `<img>` of a PDF download), and, with nobody logged in, any host name but loopback's (a
/// site whose name is re-pointed at 127.0.0.1 — DNS rebinding — would otherwise be "same
/// origin"); adds the headers.
pub(crate) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if !state.auth.is_configured() && !loopback_host(headers) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "refused: without a login this server answers only to localhost, 127.0.0.1 or [::1]",
        )
            .into_response();
    }
    if changes_state(request.method()) && cross_origin(headers) {
        return (
            StatusCode::FORBIDDEN,
            "refused: a state-changing request from another origin",
        )
            .into_response();
    }
    if embedded_by_another_site(headers) {
        return (
            StatusCode::FORBIDDEN,
            "refused: another site's page may link here, not embed or fetch this",
        )
            .into_response();
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Whether the `Host` asked for is this machine's loopback (any port), or absent (not a
/// browser).
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "localhost" | "[::1]")
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a browser fetches this for another site's page (an image, a script, a `fetch`),
/// rather than navigating to it: `Sec-Fetch-Site` other than same-origin, and a
/// `Sec-Fetch-Dest` other than a document.
fn embedded_by_another_site(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    matches!(value("sec-fetch-site"), Some("cross-site" | "same-site"))
        && value("sec-fetch-dest").is_some_and(|d| d != "document")
}

fn changes_state(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the browser says the request comes from another site: an `Origin` whose host is
/// not the `Host` asked, or `Sec-Fetch-Site: cross-site`/`same-site`.
fn cross_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && matches!(site, "cross-site" | "same-site")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false; // not a browser, or a same-origin GET-like navigation
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    origin_host != Some(host)
}

/// Whether a form's `token` is the caller's CSRF token.
pub(crate) fn check_csrf(caller: &Caller, token: &str) -> bool {
    // Digests compared, so the time taken says nothing about how much of the token matched.
    use sha2::Digest;
    !caller.csrf.is_empty() && sha2::Sha256::digest(&caller.csrf) == sha2::Sha256::digest(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn origins() {
        assert!(!cross_origin(&headers(&[("host", "localhost:8080")])));
        assert!(!cross_origin(&headers(&[
            ("host", "localhost:8080"),
            ("origin", "http://localhost:8080")
        ])));
        assert!(cross_origin(&headers(&[
            ("host", "localhost:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(cross_origin(&headers(&[
            ("host", "localhost:8080"),
            ("origin", "null")
        ])));
        assert!(cross_origin(&headers(&[
            ("host", "localhost:8080"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(loopback_host(&headers(&[("host", "localhost:8080")])));
        assert!(loopback_host(&headers(&[("host", "127.0.0.1:1234")])));
        assert!(loopback_host(&headers(&[("host", "[::1]:8080")])));
        assert!(loopback_host(&headers(&[("host", "localhost")])));
        assert!(!loopback_host(&headers(&[("host", "evil.example:8080")])));
        assert!(!loopback_host(&headers(&[(
            "host",
            "localhost.evil.example"
        )])));
        assert!(embedded_by_another_site(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-dest", "image")
        ])));
        assert!(!embedded_by_another_site(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-dest", "document")
        ])));
        assert!(!embedded_by_another_site(&headers(&[
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-dest", "empty")
        ])));
        let caller = Caller {
            user: None,
            csrf: "abc".into(),
        };
        assert!(check_csrf(&caller, "abc"));
        assert!(!check_csrf(&caller, "abd"));
        let empty = Caller {
            user: None,
            csrf: String::new(),
        };
        assert!(!check_csrf(&empty, ""));
    }
}
