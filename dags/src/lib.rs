//! The Rocket DAGs of the course (*Data Pipelines with Apache Airflow*, chapter 2), written with
//! rocket-dag, and what they stand on:
//!
//! - [`listing_2_10`]: the book's DAG — `download_launches` → `get_pictures` → `notify`;
//! - [`listing_2_10_mapped`]: the same with one mapped task instance per picture;
//! - [`ll2`]: the Launch Library 2 model (API 2.0.0 to 2.3.0 shapes);
//! - [`images`]: safe, concurrent, streaming image downloads;
//! - [`mock`]: a local LL2 + image server with fault injection (offline runs, tests, benchmarks).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod images;
pub mod listing_2_10;
pub mod listing_2_10_mapped;
pub mod ll2;
pub mod mock;

/// Every DAG of this crate (what the `rocket-dag` binary registers).
pub fn all() -> Vec<rocket_dag::Dag> {
    vec![
        listing_2_10::listing_2_10(),
        listing_2_10_mapped::listing_2_10_mapped(),
    ]
}
