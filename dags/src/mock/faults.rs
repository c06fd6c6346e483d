//! What each [`Fault`] makes of a response.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;

use super::Fault;
use super::png::{MINIMAL_PNG, huge_stream};

/// The normal response, or what `fault` makes of it.
pub(super) async fn respond(
    fault: Option<&Fault>,
    body: Bytes,
    content_type: &'static str,
    base: &str,
    request: Option<&HeaderMap>,
) -> Response {
    let normal = || ([(header::CONTENT_TYPE, content_type)], body.clone()).into_response();
    let Some(fault) = fault else {
        return normal();
    };
    match fault {
        Fault::Status(code) => status_detail(*code, &format!("injected fault: HTTP {code}")),
        Fault::Detail(code, text) => status_detail(*code, text),
        Fault::MalformedJson => (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"count": 10, "next": null, "results": [{"id": "#,
        )
            .into_response(),
        Fault::Html => (
            [(header::CONTENT_TYPE, "image/png")],
            "<!DOCTYPE html><html><head><title>Sign in</title></head><body>captive portal</body></html>",
        )
            .into_response(),
        Fault::Reset => reset(),
        Fault::Delay(delay) => {
            tokio::time::sleep(*delay).await;
            normal()
        }
        Fault::Truncated => truncated(&body, content_type),
        Fault::Huge(total) => streamed(huge_stream(*total), "image/png", None),
        Fault::RetryAfter(secs) => retry_after(*secs),
        Fault::Throttled => detail(StatusCode::TOO_MANY_REQUESTS, "Request was throttled."),
        Fault::Redirect(to) => redirect(&format!("{base}{to}")),
        Fault::Trickle(pieces, pause) => trickle(&body, content_type, *pieces, *pause),
        // Resolved by the image handler.
        Fault::FirstN(..) | Fault::SameAs(_) => normal(),
        Fault::BadHeader => {
            let mut bytes = MINIMAL_PNG[..8].to_vec();
            bytes.extend_from_slice(b"\x00\x00\x00\x0dNOPE this is not an IHDR chunk at all");
            ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        Fault::Headers(extra) => with_headers(extra, request, normal),
    }
}

/// An LL2-style error body: `{"detail": "…"}`.
pub(super) fn detail(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "detail": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// [`detail`] with the status `code` (500 if it is no status).
fn status_detail(code: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    detail(status, message)
}

/// A connection closed without a response.
fn reset() -> Response {
    // hyper drops the connection when the body fails before its first byte.
    let failing = futures::stream::once(async {
        Err::<Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected reset",
        ))
    });
    Response::new(Body::from_stream(failing))
}

/// The full `Content-Length` announced, half the body sent, then the connection closed.
fn truncated(body: &Bytes, content_type: &'static str) -> Response {
    let half = body.slice(..body.len() / 2);
    // A stream body has no size of its own, so hyper trusts our Content-Length and
    // closes the connection when the body ends short of it. The pause lets hyper flush
    // the head and the first half before that; otherwise nothing at all is sent.
    let pause = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(Bytes::new())
    };
    let stream =
        futures::stream::iter([Ok::<_, std::io::Error>(half)]).chain(futures::stream::once(pause));
    streamed(stream, content_type, Some(body.len()))
}

/// The body in `pieces` pieces, `pause` apart.
fn trickle(body: &Bytes, content_type: &'static str, pieces: usize, pause: Duration) -> Response {
    let pieces = pieces.max(1);
    let size = body.len().div_ceil(pieces).max(1);
    let chunks: Vec<Bytes> = (0..body.len())
        .step_by(size)
        .map(|i| body.slice(i..(i + size).min(body.len())))
        .collect();
    let stream =
        futures::stream::iter(chunks.into_iter().enumerate()).then(move |(i, chunk)| async move {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            Ok::<_, std::io::Error>(chunk)
        });
    streamed(stream, content_type, Some(body.len()))
}

/// A 200 whose body is `stream`, with this content type and, if given, `Content-Length`.
fn streamed<S>(stream: S, content_type: &'static str, length: Option<usize>) -> Response
where
    S: futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(length) = length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    response
}

/// 429 with `Retry-After: secs`.
fn retry_after(secs: u64) -> Response {
    let mut response = detail(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Request was throttled. Expected available in {secs} seconds."),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// 302 to `location`.
fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// The normal response with `extra` headers; `304 Not Modified` when the request's
/// `If-None-Match` is the `ETag` among them.
fn with_headers(
    extra: &[(String, String)],
    request: Option<&HeaderMap>,
    normal: impl FnOnce() -> Response,
) -> Response {
    let etag = extra
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("etag"))
        .map(|(_, v)| v.as_str());
    let asked = request
        .and_then(|h| h.get(header::IF_NONE_MATCH))
        .and_then(|v| v.to_str().ok());
    let mut response = if etag.is_some() && etag == asked {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        normal()
    };
    for (k, v) in extra {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            response.headers_mut().insert(k, v);
        }
    }
    response
}
