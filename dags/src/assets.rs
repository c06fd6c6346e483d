//! What the Rocket DAGs read and write. Tasks name these in `#[task(reads = […], writes =
//! […])]`, and `architecture` draws the solution from them (Source / Storage / Business).
//! Locations of files are relative to the DAG's data folder, `<home>/data/<dag_id>/`.

use rocket_dag::{Asset, AssetKind};

/// The Launch Library 2 API (upcoming and previous launches).
pub const LL2_API: Asset = Asset::new("ll2_api", AssetKind::ExternalApi)
    .label("Launch Library 2 API")
    .location("https://ll.thespacedevs.com/2.0.0/launch/");

/// The r/SpaceX API (`rocket_sources`' second launch source).
pub const SPACEX_API: Asset = Asset::new("spacex_api", AssetKind::ExternalApi)
    .label("r/SpaceX API")
    .location("https://api.spacexdata.com/v5/launches/upcoming");

/// How each launch source fared in the last `rocket_sources` run (`sources.json`).
pub const SOURCES_JSON: Asset = Asset::new("sources_json", AssetKind::File)
    .label("sources.json")
    .location("sources.json");

/// The servers the launches' picture URLs point at.
pub const IMAGE_HOSTS: Asset = Asset::new("image_hosts", AssetKind::ExternalApi)
    .label("Image hosts (launch pictures)")
    .location("the image URLs in the launches");

/// The upcoming launches as fetched (`launches.json`).
pub const LAUNCHES_JSON: Asset = Asset::new("launches_json", AssetKind::File)
    .label("launches.json")
    .location("launches.json");

/// The pictures, one file per distinct image.
pub const IMAGES: Asset = Asset::new("images", AssetKind::Folder)
    .label("images/")
    .location("images");

/// What was downloaded from where, with hashes and validators (skips re-downloads).
pub const IMAGE_MANIFEST: Asset = Asset::new("image_manifest", AssetKind::File)
    .label("images/.manifest.json")
    .location("images/.manifest.json");

/// What the last successful `rocket_incremental` run knew of each launch.
pub const SYNC_STATE: Asset = Asset::new("sync_state", AssetKind::File)
    .label("state/launches.json")
    .location(crate::incremental::STATE_FILE);

/// Pictures older than the retention, packed as `.tar.gz`.
pub const IMAGE_ARCHIVE: Asset = Asset::new("image_archive", AssetKind::Folder)
    .label("images/archive/")
    .location("images/archive");

/// Launches per data interval (`rocket_history`).
pub const LAUNCH_HISTORY: Asset = Asset::new("launch_history", AssetKind::Folder)
    .label("history/ (one file per interval)")
    .location("history");

/// Which picture URLs answer (`rocket_image_check`).
pub const AVAILABILITY: Asset = Asset::new("availability", AssetKind::Report)
    .label("Image availability")
    .location("availability");

/// The run history: every run and try (rocket-dag's store).
pub const RUN_HISTORY: Asset = Asset::new("run_history", AssetKind::Database)
    .label("Run history (SQLite / PostgreSQL)")
    .location("<home>/rocket-dag.db");

/// Launch, download and history reports of a run (JSON, CSV, Markdown).
pub const REPORTS: Asset = Asset::new("reports", AssetKind::Report)
    .label("Launch & download reports")
    .location("reports/{run_id}");

/// The count of pictures the book's `notify` prints.
pub const IMAGE_COUNT: Asset = Asset::new("image_count", AssetKind::NotificationChannel)
    .label("Log: \"There are now N images.\"");

/// Notifications on failures and thresholds (webhook, command, log).
pub const NOTIFICATIONS: Asset = Asset::new("notifications", AssetKind::NotificationChannel)
    .label("Notifications (webhook / command)");
