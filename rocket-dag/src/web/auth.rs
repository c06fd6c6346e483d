//! Who may use the web server.
//!
//! On loopback with nothing configured, everyone on this machine may (as `airflow standalone`).
//! Once configured, every page and every API call needs one of:
//! - a user from the users file (`name:<argon2 PHC hash>` per line, written by `users add`):
//!   pages take a login form and a session cookie, the API takes HTTP basic auth (Airflow's
//!   `basic_auth` backend);
//! - the bearer token of `ROCKET_DAG_API_TOKEN` (API and metrics only).
//!
//! `/api/v1/health` answers everyone, as Airflow's does.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;

use super::AppState;

/// The variable holding the API's bearer token.
pub const TOKEN_ENV: &str = crate::process::API_TOKEN_ENV;

/// The users file `users add` writes and the web server reads by default: `<home>/web-users`.
pub fn default_users_file(home: &Path) -> PathBuf {
    home.join("web-users")
}

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "rocket_dag_session";

/// Why authentication cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The users file cannot be read.
    #[error("cannot read the users file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of the users file is not `name:hash`.
    #[error("{}:{line}: expected `name:$argon2id$…` (write it with `users add NAME`): {reason}", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A user name that cannot be used.
    #[error("user name `{0}` must be 1 to 64 letters, digits, `_`, `.`, `-` or `@`")]
    BadName(String),
    /// The users file cannot be written.
    #[error("cannot write the users file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Hashing failed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
    /// An empty token or password.
    #[error("{0} is empty")]
    Empty(&'static str),
}

/// The users of the users file: name → argon2 PHC hash.
#[derive(Clone, Default)]
pub struct Users {
    hashes: HashMap<String, String>,
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: hashes are secrets too.
        f.debug_struct("Users")
            .field("names", &self.hashes.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn check_name(name: &str) -> Result<(), AuthError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::BadName(
            crate::escape::control(name).into_owned(),
        ))
    }
}

impl Users {
    /// Reads `path`: one `name:hash` per line; blank lines and `#` comments are skipped.
    pub fn load(path: &Path) -> Result<Users, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            path: path.to_owned(),
            source,
        })?;
        Users::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<Users, AuthError> {
        let mut hashes = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: &str| AuthError::BadLine {
                path: path.to_owned(),
                line: i + 1,
                reason: reason.to_owned(),
            };
            let (name, hash) = line.split_once(':').ok_or_else(|| bad("no `:`"))?;
            check_name(name).map_err(|e| bad(&e.to_string()))?;
            PasswordHash::new(hash).map_err(|e| bad(&format!("not a PHC hash ({e})")))?;
            hashes.insert(name.to_owned(), hash.to_owned());
        }
        Ok(Users { hashes })
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether `password` is `name`'s (argon2 verification: tens of milliseconds).
    pub fn verify(&self, name: &str, password: &str) -> bool {
        let Some(hash) = self.hashes.get(name) else {
            // Spend the same time on unknown names, so timing does not tell who exists.
            let _ = Argon2::default().hash_password(password.as_bytes());
            return false;
        };
        PasswordHash::new(hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    }
}

/// An argon2id PHC hash of `password`, with a random salt.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.is_empty() {
        return Err(AuthError::Empty("the password"));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Adds `name` with `password` to the users file at `path` (or replaces their hash),
/// creating the file (mode 0600) if needed.
pub fn add_user(path: &Path, name: &str, password: &str) -> Result<(), AuthError> {
    check_name(name)?;
    let hash = hash_password(password)?;
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(AuthError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut out: String = old
        .lines()
        .filter(|l| l.split_once(':').is_none_or(|(n, _)| n.trim() != name))
        .map(|l| format!("{l}\n"))
        .collect();
    out.push_str(&format!("{name}:{hash}\n"));
    let write = |source| AuthError::Write {
        path: path.to_owned(),
        source,
    };
    // Private from the first byte: the hashes are secrets too.
    crate::fs::write_atomically_with_mode(path, out.as_bytes(), 0o600).map_err(write)
}

/// A random token: 32 bytes, URL-safe base64.
pub(crate) fn random_token() -> String {
    let bytes: [u8; 32] = argon2::password_hash::generate_salt()
        .into_iter()
        .chain(argon2::password_hash::generate_salt())
        .collect::<Vec<u8>>()
        .try_into()
        .expect("two 16-byte salts");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How many argon2 checks run at once: each takes tens of milliseconds and 19 MiB, so a flood
/// of wrong passwords waits its turn instead of taking every thread and the memory.
const HASHING_AT_ONCE: usize = 2;

/// How long a session lasts after logging in.
const SESSION_FOR: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// Who may use the server, and the sessions of those who logged in.
#[derive(Clone)]
pub struct Auth {
    users: Option<Arc<Users>>,
    token: Option<Arc<str>>,
    /// Session id → (user, CSRF token).
    sessions: Arc<Mutex<HashMap<String, Session>>>,
    /// Credentials already verified (`user:password` → ok), so that API clients sending basic
    /// auth with every request do not pay argon2 each time. Holds SHA-256 digests, not passwords.
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
    /// The CSRF token of forms when nobody needs to log in.
    anonymous_csrf: Arc<str>,
    /// Permits for argon2 checks ([`HASHING_AT_ONCE`]).
    hashing: Arc<tokio::sync::Semaphore>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A logged-in user's session.
#[derive(Debug, Clone)]
struct Session {
    user: String,
    csrf: String,
    /// When it stops being valid.
    until: std::time::Instant,
}

/// Who is asking, as the auth layer found out: handed to handlers as a request extension.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The user name; `None` when nobody needs to log in, or for the token.
    pub(crate) user: Option<String>,
    /// The CSRF token forms must carry back.
    pub(crate) csrf: String,
}

impl Auth {
    /// Nobody needs to log in (loopback only).
    pub fn none() -> Auth {
        Auth {
            users: None,
            token: None,
            sessions: Arc::default(),
            verified: Arc::default(),
            anonymous_csrf: random_token().into(),
            hashing: Arc::new(tokio::sync::Semaphore::new(HASHING_AT_ONCE)),
        }
    }

    /// Users (pages and basic auth) and/or a bearer token (API).
    pub fn new(users: Option<Users>, token: Option<String>) -> Result<Auth, AuthError> {
        if token.as_deref() == Some("") {
            return Err(AuthError::Empty(TOKEN_ENV));
        }
        Ok(Auth {
            users: users.filter(|u| !u.is_empty()).map(Arc::new),
            token: token.map(Into::into),
            ..Auth::none()
        })
    }

    /// The users file at `users` if given, else `<home>/web-users` if it exists; the token
    /// from `ROCKET_DAG_API_TOKEN` if set.
    pub fn from_home(home: &Path, users: Option<&Path>) -> Result<Auth, AuthError> {
        let default = default_users_file(home);
        let users = match users {
            Some(p) => Some(Users::load(p)?),
            None if default.exists() => Some(Users::load(&default)?),
            None => None,
        };
        Auth::new(users, std::env::var(TOKEN_ENV).ok())
    }

    /// Whether anyone needs to authenticate.
    pub fn is_configured(&self) -> bool {
        self.users.is_some() || self.token.is_some()
    }

    /// For the startup line.
    pub fn describe(&self) -> String {
        match (&self.users, &self.token) {
            (None, None) => "no login: loopback only".into(),
            (Some(u), None) => format!("login required: {} user(s)", u.len()),
            (None, Some(_)) => format!("API by bearer token ({TOKEN_ENV}); pages need users"),
            (Some(u), Some(_)) => format!(
                "login required: {} user(s); API also by bearer token",
                u.len()
            ),
        }
    }

    /// Whether `password` is `user`'s: argon2 on a blocking thread, at most
    /// [`HASHING_AT_ONCE`] at a time.
    async fn verify(&self, user: &str, password: &str) -> bool {
        let Some(users) = self.users.clone() else {
            return false;
        };
        let Ok(_permit) = self.hashing.acquire().await else {
            return false;
        };
        let (user, password) = (user.to_owned(), password.to_owned());
        tokio::task::spawn_blocking(move || users.verify(&user, &password))
            .await
            .unwrap_or(false)
    }

    /// Checks `user:password`, remembering what verified.
    async fn check_basic(&self, user: &str, password: &str) -> bool {
        let digest = digest(&[user.as_bytes(), b":", password.as_bytes()]);
        if self
            .verified
            .lock()
            .expect("not poisoned")
            .contains(&digest)
        {
            return true;
        }
        let ok = self.verify(user, password).await;
        if ok {
            self.verified.lock().expect("not poisoned").insert(digest);
        }
        ok
    }

    fn check_token(&self, token: &str) -> bool {
        self.token
            .as_deref()
            .is_some_and(|t| digest(&[t.as_bytes()]) == digest(&[token.as_bytes()]))
    }

    /// Logs `user` in if `password` is theirs: the new session id.
    pub(crate) async fn login(&self, user: &str, password: &str) -> Option<String> {
        if !self.verify(user, password).await {
            return None;
        }
        let id = random_token();
        let session = Session {
            user: user.to_owned(),
            csrf: random_token(),
            until: std::time::Instant::now() + SESSION_FOR,
        };
        self.sessions
            .lock()
            .expect("not poisoned")
            .insert(id.clone(), session);
        Some(id)
    }

    /// Ends a session.
    pub(crate) fn logout(&self, session: &str) {
        self.sessions.lock().expect("not poisoned").remove(session);
    }

    /// The session `id`, unless it has expired (expired ones are dropped on the way).
    fn session(&self, id: &str) -> Option<Session> {
        let mut sessions = self.sessions.lock().expect("not poisoned");
        let now = std::time::Instant::now();
        sessions.retain(|_, s| s.until > now);
        sessions.get(id).cloned()
    }

    /// Who asks with these headers, if they may.
    async fn caller(&self, headers: &HeaderMap, api: bool) -> Option<Caller> {
        if !self.is_configured() {
            return Some(Caller {
                user: None,
                csrf: self.anonymous_csrf.to_string(),
            });
        }
        if let Some(id) = cookie(headers, SESSION_COOKIE)
            && let Some(s) = self.session(id)
        {
            return Some(Caller {
                user: Some(s.user),
                csrf: s.csrf,
            });
        }
        if !api {
            return None;
        }
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, rest) = value.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") && self.check_token(rest.trim()) {
            return Some(Caller {
                user: None,
                csrf: String::new(),
            });
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, password) = decoded.split_once(':')?;
            if self.check_basic(user, password).await {
                return Some(Caller {
                    user: Some(user.to_owned()),
                    csrf: String::new(),
                });
            }
        }
        None
    }
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Paths anyone may reach: the login page (and its stylesheet) and the health check.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/api/v1/health" | "/health" | "/static/style.css"
    )
}

/// Whether `path` is for programs (the API, the metrics), which get 401 rather than the login
/// page.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

/// The auth layer: lets through who may ask (with a [`Caller`] extension), answers the rest
/// with 401 (API) or the login page (pages).
pub(crate) async fn require(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let api = is_api(&path);
    match state.auth.caller(request.headers(), api).await {
        Some(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        None if is_public(&path) => {
            request.extensions_mut().insert(Caller {
                user: None,
                csrf: String::new(),
            });
            next.run(request).await
        }
        None if api => {
            let mut response = super::api::problem(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "This API needs HTTP basic auth (a user of the users file) or a bearer token.",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"rocket-dag\""),
            );
            response
        }
        None if request.method() == Method::GET || request.method() == Method::HEAD => {
            let target = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            Redirect::to(&format!("/login?next={}", percent_encode(&target))).into_response()
        }
        None => (StatusCode::FORBIDDEN, "log in first").into_response(),
    }
}

/// `s` for a query value: everything but unreserved characters percent-encoded.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where to go after logging in: a path on this server only (never `//host` or a URL).
pub(crate) fn safe_next(next: Option<&str>) -> &str {
    match next {
        // Browsers drop tabs and newlines from URLs (`/\t/evil.example` is `//evil.example`).
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control()) =>
        {
            n
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_file_round_trip_and_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        add_user(&path, "ada", "s3cret").unwrap();
        add_user(&path, "bob", "pw").unwrap();
        add_user(&path, "ada", "new").unwrap();
        let users = Users::load(&path).unwrap();
        assert_eq!(users.len(), 2);
        assert!(users.verify("ada", "new"));
        assert!(!users.verify("ada", "s3cret"));
        assert!(!users.verify("carol", "new"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("s3cret") && !text.contains(":new"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let e = Users::parse(Path::new("f"), "# c\n\nada:plain\n").unwrap_err();
        assert!(e.to_string().starts_with("f:3: "), "{e}");
        assert!(matches!(
            add_user(&path, "a b", "x"),
            Err(AuthError::BadName(_))
        ));
    }

    #[tokio::test]
    async fn basic_and_bearer_are_checked_and_sessions_give_csrf_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        add_user(&path, "ada", "pw").unwrap();
        let auth = Auth::new(Some(Users::load(&path).unwrap()), Some("tok".into())).unwrap();
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(auth.caller(&headers("Bearer tok"), true).await.is_some());
        assert!(auth.caller(&headers("Bearer tok"), false).await.is_none());
        assert!(auth.caller(&headers("Bearer nope"), true).await.is_none());
        let basic = format!("Basic {}", b64("ada:pw"));
        assert_eq!(
            auth.caller(&headers(&basic), true)
                .await
                .unwrap()
                .user
                .as_deref(),
            Some("ada")
        );
        // Twice: the second from the verified set.
        assert!(auth.caller(&headers(&basic), true).await.is_some());
        let wrong = format!("Basic {}", b64("ada:px"));
        assert!(auth.caller(&headers(&wrong), true).await.is_none());
        assert!(auth.login("ada", "px").await.is_none());
        let id = auth.login("ada", "pw").await.unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("x=1; {SESSION_COOKIE}={id}").parse().unwrap(),
        );
        let caller = auth.caller(&h, false).await.unwrap();
        assert_eq!(caller.user.as_deref(), Some("ada"));
        assert!(caller.csrf.len() >= 40);
        auth.logout(&id);
        assert!(auth.caller(&h, false).await.is_none());
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/dags/x")), "/dags/x");
    }
}
