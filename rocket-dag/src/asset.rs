//! Assets: the things tasks read and write (an API, a file, a folder, a database, a report, a
//! notification channel). Declared once as constants and named in `#[task(reads = […],
//! writes = […])]`, they let rocket-dag draw the solution's architecture from the code.
//!
//! ```
//! use rocket_dag::prelude::*;
//! use rocket_dag::{Asset, AssetKind};
//!
//! const API: Asset = Asset::new("ll2_api", AssetKind::ExternalApi)
//!     .label("Launch Library 2 API")
//!     .location("https://ll.thespacedevs.com/2.0.0/launch/upcoming");
//! const LAUNCHES: Asset = Asset::new("launches_json", AssetKind::File).location("launches.json");
//!
//! #[task(reads = [API], writes = [LAUNCHES])]
//! async fn download_launches() {}
//!
//! # fn main() {
//! use rocket_dag::Task;
//! assert_eq!(<download_launches as Task>::spec().reads[0].id, "ll2_api");
//! assert_eq!(<download_launches as Task>::spec().writes[0].layer, rocket_dag::Layer::Storage);
//! # }
//! ```

use std::fmt;

use serde::Serialize;

use crate::task::Layer;

/// What kind of thing an asset is; it picks the shape it is drawn with and its default layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AssetKind {
    /// A service on the network (an HTTP API, image hosts). Layer: source.
    ExternalApi,
    /// One file. Layer: storage.
    File,
    /// A folder of files. Layer: storage.
    Folder,
    /// A database. Layer: storage.
    Database,
    /// A report people read. Layer: business.
    Report,
    /// Where notifications go (a chat webhook, a command, a log). Layer: business.
    NotificationChannel,
}

impl AssetKind {
    /// The snake_case name, e.g. `external_api`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AssetKind::ExternalApi => "external_api",
            AssetKind::File => "file",
            AssetKind::Folder => "folder",
            AssetKind::Database => "database",
            AssetKind::Report => "report",
            AssetKind::NotificationChannel => "notification_channel",
        }
    }

    /// The layer an asset of this kind sits in unless it says otherwise.
    pub const fn default_layer(self) -> Layer {
        match self {
            AssetKind::ExternalApi => Layer::Source,
            AssetKind::File | AssetKind::Folder | AssetKind::Database => Layer::Storage,
            AssetKind::Report | AssetKind::NotificationChannel => Layer::Business,
        }
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something tasks read or write. Build it in a `const` with [`Asset::new`] and the setters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct Asset {
    /// Unique name, e.g. `launches_json`.
    pub id: &'static str,
    /// What it is.
    pub kind: AssetKind,
    /// Its architecture layer (default: from its kind).
    pub layer: Layer,
    /// What diagrams show (default: the id).
    pub label: &'static str,
    /// Where it is: a URL, or a path relative to the DAG's data directory
    /// (`<home>/data/<dag_id>/`) in which `{run_id}` and `{ds}` stand for the run's.
    pub location: &'static str,
}

impl Asset {
    /// An asset of `kind` named `id`, in its kind's default layer.
    pub const fn new(id: &'static str, kind: AssetKind) -> Self {
        Asset {
            id,
            kind,
            layer: kind.default_layer(),
            label: id,
            location: "",
        }
    }
    /// Sets what diagrams show.
    pub const fn label(mut self, label: &'static str) -> Self {
        self.label = label;
        self
    }
    /// Sets its layer.
    pub const fn layer(mut self, layer: Layer) -> Self {
        self.layer = layer;
        self
    }
    /// Sets where it is (see [`Asset::location`](#structfield.location)).
    pub const fn location(mut self, location: &'static str) -> Self {
        self.location = location;
        self
    }

    /// The location with `{run_id}` and `{ds}` filled in.
    pub fn location_for(&self, run_id: &str, ds: &str) -> String {
        self.location
            .replace("{run_id}", run_id)
            .replace("{ds}", ds)
    }
}
