//! `/login` and `/logout`: a form for the users of the users file, and a session cookie
//! (HttpOnly, SameSite=Strict). Shown only when authentication is configured.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::super::AppState;
use super::super::auth::{Caller, SESSION_COOKIE, cookie, safe_next};
use super::{PageError, render};

/// The routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(form).post(submit))
        .route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage {
    next: String,
    failed: bool,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn form(State(state): State<AppState>, Query(q): Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref()).to_owned();
    if !state.auth.is_configured() {
        return Redirect::to(&next).into_response();
    }
    render(&LoginPage {
        next,
        failed: false,
    })
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// Checks the password (argon2, off the async threads) and sets the session cookie. The
/// login form has no CSRF token (there is no session yet); the security layer refuses
/// cross-origin POSTs, and a login cannot change anything else.
async fn submit(State(state): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref()).to_owned();
    let session = state.auth.login(&f.username, &f.password).await;
    let Some(id) = session else {
        let mut response = render(&LoginPage { next, failed: true });
        *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return response;
    };
    let mut response = Redirect::to(&next).into_response();
    set_cookie(&mut response, &format!("{SESSION_COOKIE}={id}"));
    response
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<LogoutForm>,
) -> Result<Response, PageError> {
    super::csrf(&caller, &f.csrf)?;
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state.auth.logout(id);
    }
    let mut response = Redirect::to("/login").into_response();
    set_cookie(&mut response, &format!("{SESSION_COOKIE}=; Max-Age=0"));
    Ok(response)
}

fn set_cookie(response: &mut Response, value: &str) {
    let value = format!("{value}; HttpOnly; SameSite=Strict; Path=/");
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
}
