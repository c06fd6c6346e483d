//! What every page shares: the header (the DAG list, the server's mode, who is logged in and
//! the logout form) and the error page.

use askama::Template;

use super::super::AppState;
use super::super::auth::Caller;

/// The header of every page.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    /// Who is logged in, when anyone must.
    pub(crate) user: Option<String>,
    /// The CSRF token the page's forms carry.
    pub(crate) csrf: String,
    /// `scheduler + web server` or `web server only`.
    pub(crate) mode: &'static str,
    /// The page's title.
    pub(crate) title: String,
}

impl Chrome {
    /// The header for `caller`, titled `title`.
    pub(crate) fn new(state: &AppState, caller: &Caller, title: impl Into<String>) -> Chrome {
        Chrome {
            user: caller.user.clone(),
            csrf: caller.csrf.clone(),
            mode: if state.with_scheduler {
                "standalone: scheduler + web server"
            } else {
                "web server (scheduler elsewhere)"
            },
            title: title.into(),
        }
    }
}

/// A page saying what went wrong.
#[derive(Template)]
#[template(path = "web/error.html")]
pub(crate) struct ErrorPage {
    /// The HTTP status code.
    pub(crate) status: u16,
    /// Its reason phrase.
    pub(crate) reason: &'static str,
    /// What went wrong, for people.
    pub(crate) message: String,
}
