//! The book's Rocket DAG with the book's operators: `download_launches` and `notify` are shell
//! tasks (Airflow's `BashOperator`: `curl` and `ls | wc -l`), `get_pictures` is an async task
//! (the book's `PythonOperator`), ordered with `>>` and passing data through files, as in the
//! book. Beside [`listing_2_10`](crate::listing_2_10), where every step is an async task with
//! typed outputs, it lets the course compare the two kinds of task on the same work (the
//! `rocket` benchmark runs both; `durations` and `gantt` show them side by side).

use rocket_dag::prelude::*;

use crate::assets::{IMAGE_COUNT, IMAGE_HOSTS, IMAGES, LAUNCHES_JSON, LL2_API};
use crate::listing_2_10::{DEFAULT_LAUNCHES_URL, LAUNCHES_URL_ENV, LAUNCHES_URL_PARAM, Pictures};
use crate::ll2::parse_page;

/// `curl` the launches into `launches.json` (in the DAG's data directory, where shell tasks
/// run). The URL is the `launches_url` param, else `$ROCKET_LAUNCHES_URL`, else the public API —
/// handed to the shell as a variable, never pasted into the script.
///
/// `--fail` makes an HTTP error a non-zero exit (the book's `curl` would store the error page);
/// `curl` writes to a temporary name that is renamed only when the download is complete; only
/// `http` and `https` URLs are fetched, up to 32 MiB.
#[task(
    shell,
    retries = 3,
    retry_delay = "2s",
    retry_exponential_backoff = true,
    layer = "source",
    reads = [LL2_API],
    writes = [LAUNCHES_JSON]
)]
pub fn download_launches(ctx: &TaskContext) -> String {
    let url = if ctx.params().contains_key(LAUNCHES_URL_PARAM) {
        format!("{{{{ params.{LAUNCHES_URL_PARAM} }}}}")
    } else {
        format!("\"${{{LAUNCHES_URL_ENV}:-{DEFAULT_LAUNCHES_URL}}}\"")
    };
    // Only http(s), redirects included (whoever triggers a run sets `launches_url`: a
    // `file://` URL must not copy a local file into the data folder), a size cap, and `--`
    // so a value starting with `-` is never an option.
    format!(
        "curl --silent --show-error --fail --location --max-time 60 \
         --proto =http,https --proto-redir =http,https --max-filesize 33554432 \
         -o .launches.json.part -- {url} \
         && mv .launches.json.part launches.json && echo stored launches.json"
    )
}

/// Read `launches.json` and download every launch's picture into `images/` (the book's
/// `_get_pictures`, with the same safe, concurrent downloads as `listing_2_10`).
#[task(
    execution_timeout = "10m",
    layer = "storage",
    reads = [LAUNCHES_JSON, IMAGE_HOSTS],
    writes = [IMAGES]
)]
pub async fn get_pictures(ctx: &TaskContext) -> Result<Pictures, TaskError> {
    let path = ctx.data_dir().join("launches.json");
    let body = tokio::fs::read(&path)
        .await
        .with_context(|| format!("reading {}", path.display()))?;
    // A malformed document fails at once: reading it again gives the same bytes.
    let page = parse_page(&body).map_err(|e| {
        TaskError::fail_now(format!("{} is not a launch list: {e}", path.display()))
    })?;
    // The book DAG's own task, called as the plain fn it stays.
    crate::listing_2_10::get_pictures(ctx, page.results).await
}

/// The book's `echo "There are now $(ls /tmp/images/ | wc -l) images."`.
#[task(shell, layer = "business", reads = [IMAGES], writes = [IMAGE_COUNT])]
pub fn notify() -> String {
    "mkdir -p images && echo \"There are now $(ls images/ | wc -l) images.\"".into()
}

/// The book's listing 2.10 with its operators: shell `download_launches` >> async
/// `get_pictures` >> shell `notify`.
///
/// | task | does | layer |
/// |---|---|---|
/// | `download_launches` | `curl` the launches into `launches.json` | source |
/// | `get_pictures` | downloads each launch's picture into `images/` | storage |
/// | `notify` | `echo "There are now $(ls images/ \| wc -l) images."` | business |
#[dag(schedule = "@daily", start_date = "2024-01-01", catchup = false, tags = ["rocket", "book", "shell"])]
pub fn listing_2_10_bash() {
    let launches = download_launches();
    let pictures = get_pictures();
    let count = notify();
    launches >> pictures >> count;
}
