//! Query parameters, pagination, ordering and JSON bodies, read as Airflow's API reads them,
//! and the look-ups every handler starts with (a DAG, a run), ids checked first.

use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::{ApiError, ApiResult};
use crate::dag::Dag;
use crate::store::DagRunRecord;
use crate::web::Shared;

/// Airflow's `[api] maximum_page_limit` and `fallback_page_limit`.
pub(crate) const MAX_PAGE: usize = 100;

/// The query string as `(name, value)` pairs; a name may repeat (`state=a&state=b`).
#[derive(Debug, Default)]
pub(crate) struct Params(pub(crate) Vec<(String, String)>);

impl Params {
    /// The first value of `name`.
    pub(crate) fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (also comma-separated ones).
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// An integer parameter.
    pub(crate) fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        self.one(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::BadRequest(format!("'{v}' is not of type 'integer' ({name})"))
                })
            })
            .transpose()
    }

    /// A boolean parameter (`true`/`false`, as connexion reads them).
    pub(crate) fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        self.one(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(ApiError::BadRequest(format!(
                    "'{v}' is not of type 'boolean' ({name})"
                ))),
            })
            .transpose()
    }

    /// A date-time parameter (RFC 3339 with an offset).
    pub(crate) fn date(&self, name: &str) -> ApiResult<Option<DateTime<Utc>>> {
        self.one(name).map(|v| parse_date(name, v)).transpose()
    }

    /// `limit` and `offset` as Airflow applies them.
    pub(crate) fn page(&self) -> ApiResult<Page> {
        let limit = match self.int("limit")? {
            None | Some(0) => MAX_PAGE,
            Some(n) if n < 0 => {
                return Err(ApiError::BadRequest(
                    "Page limit must be a positive integer".into(),
                ));
            }
            Some(n) => (n as u64).min(MAX_PAGE as u64) as usize,
        };
        let offset = match self.int("offset")? {
            None => 0,
            Some(n) if n < 0 => {
                return Err(ApiError::BadRequest(format!(
                    "{n} is less than the minimum of 0 - 'offset'"
                )));
            }
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        };
        Ok(Page { limit, offset })
    }

    /// `order_by` (`field` or `-field`) among `allowed`, else `default`.
    pub(crate) fn order_by<'a>(
        &'a self,
        default: &'a str,
        allowed: &[&str],
    ) -> ApiResult<(&'a str, bool)> {
        let raw = self.one("order_by").unwrap_or(default);
        let (field, desc) = match raw.strip_prefix('-') {
            Some(f) => (f, true),
            None => (raw, false),
        };
        if !allowed.contains(&field) {
            return Err(ApiError::BadRequest(format!(
                "Ordering with '{field}' is disallowed or the attribute does not exist on the model"
            )));
        }
        Ok((field, desc))
    }
}

/// Reads a date-time as Airflow does; a `+` a client left unencoded arrives as a space.
pub(crate) fn parse_date(name: &str, v: &str) -> ApiResult<DateTime<Utc>> {
    let fixed = v.replace(' ', "+");
    DateTime::parse_from_rfc3339(&fixed)
        .map(|d| d.to_utc())
        .map_err(|_| ApiError::BadRequest(format!("'{v}' is not a 'date-time' ({name})")))
}

/// A range of instants, `(gte, lte)`, open where `None`.
pub(crate) type DateRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// One page of a listing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    /// At most this many.
    pub(crate) limit: usize,
    /// After skipping this many.
    pub(crate) offset: usize,
}

impl Page {
    /// The page of `items`.
    pub(crate) fn of<T>(self, items: Vec<T>) -> Vec<T> {
        items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect()
    }
}

/// Whether `t` is within `[gte, lte]` (open where not given); a missing `t` only passes
/// without bounds.
pub(crate) fn within(
    t: Option<DateTime<Utc>>,
    gte: Option<DateTime<Utc>>,
    lte: Option<DateTime<Utc>>,
) -> bool {
    match t {
        None => gte.is_none() && lte.is_none(),
        Some(t) => gte.is_none_or(|g| t >= g) && lte.is_none_or(|l| t <= l),
    }
}

/// A JSON request body as `T`: it must say it is JSON (a cross-site form cannot).
pub(crate) fn body<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> ApiResult<T> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let mime = v.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
        });
    if !json {
        return Err(ApiError::MediaType);
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// The DAG `id`, checked, or Airflow's 404.
pub(crate) fn dag<'a>(state: &'a Shared, id: &str) -> ApiResult<&'a Dag> {
    crate::ids::dag(id)?;
    state.dag(id).ok_or_else(|| {
        ApiError::not_found(
            "DAG not found",
            format!("The DAG with dag_id: {id} was not found"),
        )
    })
}

/// Run `run` of DAG `dag`, checked, or Airflow's 404.
pub(crate) async fn run(state: &Shared, dag: &str, run: &str) -> ApiResult<DagRunRecord> {
    crate::ids::run(run)?;
    state.store.get_run(dag, run).await?.ok_or_else(|| {
        ApiError::not_found(
            "DAGRun not found",
            format!("DAGRun with DAG ID: '{dag}' and DagRun ID: '{run}' not found"),
        )
    })
}

/// Who made a change, for the history: the user, or the API's token.
pub(crate) fn by(caller: Option<&crate::web::auth::Caller>) -> String {
    match caller.and_then(|c| c.user.as_deref()) {
        Some(user) => format!("the REST API (user {user})"),
        None => "the REST API".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &[(&str, &str)]) -> Params {
        Params(
            q.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn pages_follow_airflows_limits() {
        let p = params(&[]).page().unwrap();
        assert_eq!((p.limit, p.offset), (100, 0));
        let p = params(&[("limit", "1000"), ("offset", "3")])
            .page()
            .unwrap();
        assert_eq!((p.limit, p.offset), (100, 3));
        assert_eq!(params(&[("limit", "0")]).page().unwrap().limit, 100);
        assert!(params(&[("limit", "-1")]).page().is_err());
        assert!(params(&[("offset", "x")]).page().is_err());
        let o = params(&[("order_by", "-start_date")]);
        assert_eq!(
            o.order_by("id", &["start_date"]).unwrap(),
            ("start_date", true)
        );
        assert!(o.order_by("id", &["id"]).is_err());
        let s = params(&[("state", "success,failed"), ("state", "queued")]);
        assert_eq!(s.all("state"), ["success", "failed", "queued"]);
        let d = params(&[("d", "2024-01-01T00:00:00 00:00")]);
        assert!(d.date("d").unwrap().is_some());
    }
}
