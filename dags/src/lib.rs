//! The Rocket DAGs of the course (*Data Pipelines with Apache Airflow*, chapter 2), written with
//! rocket-dag, and what they stand on:
//!
//! - [`listing_2_10`]: the book's DAG — `download_launches` → `get_pictures` → `notify`;
//! - [`listing_2_10_mapped`]: the same with one mapped task instance per picture;
//! - [`listing_2_10_bash`]: the same with the book's operators (`curl` and `ls | wc -l` as shell
//!   tasks), to compare shell and async tasks;
//! - [`rocket_launches`]: the complete pipeline (`rocket_launches`, weekly `rocket_weekly`) and the
//!   history (`rocket_history`);
//! - [`rocket_incremental`]: the launch list processed incrementally, against a state that
//!   survives restarts ([`incremental`]: new, changed, gone);
//! - [`rocket_sources`]: launches from LL2 and the r/SpaceX API, merged (`rocket_sources`);
//! - [`ll2`]: the Launch Library 2 model (API 2.0.0 to 2.3.0 shapes);
//! - [`spacex`]: the r/SpaceX API (v4, v5) read into the same model;
//! - [`sources`]: several sources' launches merged, each launch once;
//! - [`ll2_client`]: pagination, API key, the 429 quota, retries;
//! - [`images`]: safe, concurrent, streaming image downloads;
//! - [`fetcher`]: the resilient fetcher (retries, limits, integrity, de-duplication, fallbacks);
//! - [`mock`]: a local LL2 + image server with fault injection (offline runs, tests, benchmarks);
//! - [`record`]: what is recorded for every launch's picture;
//! - [`assets`]: what the DAGs read and write (drawn by `architecture`);
//! - [`counts`]: what the tasks count for `/metrics` (images downloaded, failed, bytes).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod assets;
pub mod counts;
pub mod fetcher;
pub mod images;
pub mod incremental;
pub mod listing_2_10;
pub mod listing_2_10_bash;
pub mod listing_2_10_mapped;
pub mod ll2;
pub mod ll2_client;
pub mod mock;
pub mod record;
pub mod reports;
pub mod rocket_incremental;
pub mod rocket_launches;
pub mod rocket_sources;
pub mod sources;
pub mod spacex;

/// The course guides (`docs/course.ru.md`, `docs/course.md`), built into the binary so that
/// `handin --variant N` finds each variant's tasks and the commands that answer them.
pub fn course_guides() -> Vec<rocket_dag::cli::Guide> {
    use rocket_dag::viz::handin::Lang;
    vec![
        rocket_dag::cli::Guide {
            lang: Lang::Ru,
            markdown: include_str!("../../docs/course.ru.md").into(),
        },
        rocket_dag::cli::Guide {
            lang: Lang::En,
            markdown: include_str!("../../docs/course.md").into(),
        },
    ]
}

/// Every DAG of this crate (what the `rocket-dag` binary registers).
pub fn all() -> Vec<rocket_dag::Dag> {
    vec![
        listing_2_10::listing_2_10(),
        listing_2_10_mapped::listing_2_10_mapped(),
        listing_2_10_bash::listing_2_10_bash(),
        rocket_launches::rocket_launches(),
        rocket_launches::rocket_weekly(),
        rocket_launches::rocket_history(),
        rocket_launches::rocket_image_check(),
        rocket_sources::rocket_sources(),
        rocket_incremental::rocket_incremental(),
    ]
}
