//! The r/SpaceX API (v4 and v5 `launches`): a second launch source beside Launch Library 2,
//! read into the same [`Launch`] model.
//!
//! `GET https://api.spacexdata.com/v5/launches/upcoming` answers a bare JSON array of launch
//! objects; `/v5/launches/next` one object; `POST /v5/launches/query` a page object
//! (`{"docs": […], "hasNextPage": …}`). [`parse_launches`] accepts all three. The API has no key
//! and no documented quota; it has not been updated since 2022, so its "upcoming" list is old.
//!
//! How the fields map (nulls and missing fields become `None`):
//!
//! | r/SpaceX | [`Launch`] |
//! |---|---|
//! | `id` | `id` (a 24-hex object id, which cannot collide with LL2's UUIDs; any other id gets the prefix `spacex:`) |
//! | `name` | `name` and `mission` |
//! | `date_utc` (else `date_unix`) | `net` |
//! | `success`, `upcoming`, `tbd` | `status`: `Success`, `Failure`, `TBD` or `Upcoming` |
//! | (always) | `provider`: `SpaceX` |
//! | `rocket`: an id (known ids named, see [`ROCKETS`]) or a populated object's `name` | `rocket`, `rocket_family` |
//! | populated `rocket.flickr_images[0]` | `rocket_image_url` |
//! | populated `launchpad`: `name`, `locality`/`region`, `timezone` | `pad`, `location`, `pad_timezone` |
//! | `links.patch.large`, else `links.patch.small`, else `links.flickr.original[0]`, else `links.flickr.small[0]` | `image_url` |
//! | `links.patch.small` | `thumbnail_url` |
//! | `launch_library_id` | [`SpacexLaunch::launch_library_id`]: the same launch's LL2 id, used to merge |
//!
//! ```
//! let launches = dags::spacex::parse_launches(br#"[{"id": "5eb87d42ffd86e000604b384",
//!     "name": "CRS-20", "date_utc": "2020-03-07T04:50:31.000Z",
//!     "rocket": "5e9d0d95eda69973a809d1ec", "links": {"patch": {"large": null, "small": null},
//!     "flickr": {"small": [], "original": ["https://live.staticflickr.com/a_o.jpg"]}}}]"#)?;
//! assert_eq!(launches[0].launch.rocket.as_deref(), Some("Falcon 9"));
//! assert_eq!(launches[0].launch.image_url.as_deref(), Some("https://live.staticflickr.com/a_o.jpg"));
//! # Ok::<(), dags::ll2::ParseError>(())
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use crate::ll2::{Launch, ParseError};

/// The public "upcoming launches" endpoint.
pub const DEFAULT_SPACEX_URL: &str = "https://api.spacexdata.com/v5/launches/upcoming";
/// Environment variable that overrides [`DEFAULT_SPACEX_URL`].
pub const SPACEX_URL_ENV: &str = "ROCKET_SPACEX_URL";
/// Run param that overrides the SpaceX URL (`-p spacex_url=…`).
pub const SPACEX_URL_PARAM: &str = "spacex_url";
/// The name of this source in merged launches (`sources`, `source_ids`).
pub const SOURCE: &str = "spacex";

/// The r/SpaceX rocket ids (`GET /v4/rockets`), their names and families: a launch names its
/// rocket by id unless the query populated it.
pub const ROCKETS: &[(&str, &str, &str)] = &[
    ("5e9d0d95eda69955f709d1eb", "Falcon 1", "Falcon"),
    ("5e9d0d95eda69973a809d1ec", "Falcon 9", "Falcon"),
    ("5e9d0d95eda69974db09d1ed", "Falcon Heavy", "Falcon"),
    ("5e9d0d96eda699382d09d1ee", "Starship", "Starship"),
];

/// One r/SpaceX launch: the common model, and the LL2 id the API links it to.
#[derive(Debug, Clone, PartialEq)]
pub struct SpacexLaunch {
    /// The launch in the common model (`sources`/`source_ids` say `spacex`).
    pub launch: Launch,
    /// `launch_library_id`: the same launch's id in Launch Library 2, when the API knows it.
    pub launch_library_id: Option<String>,
}

/// Parses an r/SpaceX launch list: a JSON array, one launch object, or a query page
/// (`{"docs": […]}`). Unknown fields are ignored; launches without an `id` are skipped with a
/// warning.
///
/// # Errors
///
/// [`ParseError`] when the bytes are not JSON or not shaped like launches (an error body such
/// as `{"error": "…"}` is not an empty list).
pub fn parse_launches(bytes: &[u8]) -> Result<Vec<SpacexLaunch>, ParseError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let wire: Vec<WireLaunch> = if first == Some(b'[') {
        serde_json::from_slice(bytes)?
    } else {
        // An object: a query page, or a single launch (which must then have an id).
        let value: serde_json::Value = serde_json::from_slice(bytes)?;
        if value.get("docs").is_some() {
            serde_json::from_value::<WirePage>(value)?.docs
        } else if value.get("id").is_some() {
            vec![serde_json::from_value(value)?]
        } else {
            return Err(ParseError::Shape {
                line: 1,
                column: 1,
                message: "expected a list of launches, a launch or a page with `docs`".into(),
            });
        }
    };
    let mut seen = std::collections::HashSet::new();
    Ok(wire
        .into_iter()
        .enumerate()
        .filter_map(|(index, w)| {
            let l = w.into_launch();
            if l.is_none() {
                tracing::warn!(index, "skipping a SpaceX launch without an id");
            }
            l
        })
        .filter(|l| seen.insert(l.launch.id.clone()))
        .collect())
}

/// Largest r/SpaceX document accepted (all of `/v5/launches`, 200-odd launches, is ~1 MiB).
pub const MAX_SPACEX_BYTES: usize = 16 * 1024 * 1024;

/// What [`fetch`] got.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The launches, once each.
    pub launches: Vec<SpacexLaunch>,
    /// Requests made (retries and throttle waits included).
    pub requests: u32,
}

/// GETs an r/SpaceX launch list with the LL2 client's rules (retries after 5xx and transport
/// errors with backoff, a 429 waited out when `Retry-After` asks for little enough, the body
/// read up to [`MAX_SPACEX_BYTES`]), and parses it. The client is built with **no API key and
/// no key origin**: the LL2 key (`ROCKET_LL2_API_KEY`) can never reach this host.
///
/// # Errors
///
/// The [`ClientError`](crate::ll2_client::ClientError) of the request, or `Parse` when the
/// body is not a launch list.
pub async fn fetch(
    http: reqwest::Client,
    url: &str,
    config: crate::ll2_client::ClientConfig,
) -> Result<Fetched, crate::ll2_client::ClientError> {
    let mut config = config.api_key(None).max_page_bytes(MAX_SPACEX_BYTES);
    config.key_origin = None;
    let client = crate::ll2_client::Ll2Client::new(http, config);
    let (body, requests) = client.get(url).await?;
    let launches =
        parse_launches(&body).map_err(|source| crate::ll2_client::ClientError::Parse {
            url: url.to_owned(),
            source,
        })?;
    Ok(Fetched { launches, requests })
}

#[derive(Deserialize)]
struct WirePage {
    docs: Vec<WireLaunch>,
}

#[derive(Deserialize)]
struct WireLaunch {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    date_utc: Option<String>,
    #[serde(default)]
    date_unix: Option<serde_json::Value>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    upcoming: Option<bool>,
    #[serde(default)]
    tbd: Option<bool>,
    #[serde(default)]
    rocket: Option<WireRef>,
    #[serde(default)]
    launchpad: Option<WireRef>,
    #[serde(default)]
    links: Option<WireLinks>,
    #[serde(default, deserialize_with = "text")]
    launch_library_id: Option<String>,
}

/// A reference: an id, or the object a query populated.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireRef {
    Id(String),
    Object(WireObject),
    Other(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct WireObject {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    full_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    locality: Option<String>,
    #[serde(default, deserialize_with = "text")]
    region: Option<String>,
    #[serde(default, deserialize_with = "text")]
    timezone: Option<String>,
    #[serde(default, deserialize_with = "urls")]
    flickr_images: Vec<String>,
}

#[derive(Deserialize, Default)]
struct WireLinks {
    #[serde(default)]
    patch: Option<WirePatch>,
    #[serde(default)]
    flickr: Option<WireFlickr>,
}

#[derive(Deserialize)]
struct WirePatch {
    #[serde(default, deserialize_with = "text")]
    small: Option<String>,
    #[serde(default, deserialize_with = "text")]
    large: Option<String>,
}

#[derive(Deserialize)]
struct WireFlickr {
    #[serde(default, deserialize_with = "urls")]
    small: Vec<String>,
    #[serde(default, deserialize_with = "urls")]
    original: Vec<String>,
}

impl WireLaunch {
    fn into_launch(self) -> Option<SpacexLaunch> {
        // The API's ids are 24-hex object ids, which cannot collide with LL2's UUIDs; anything
        // else is kept apart by a prefix, so no answer can pass for an LL2 launch.
        let id = self.id.map(|id| {
            if id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                id
            } else {
                format!("spacex:{id}")
            }
        })?;
        let net = self
            .date_utc
            .as_deref()
            .and_then(|raw| match DateTime::parse_from_rfc3339(raw) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(err) => {
                    tracing::warn!(launch = %id, date_utc = %raw, cause = %err, "ignoring an unreadable SpaceX launch time");
                    None
                }
            })
            .or_else(|| {
                self.date_unix
                    .as_ref()
                    .and_then(serde_json::Value::as_i64)
                    .and_then(|s| DateTime::from_timestamp(s, 0))
            });
        let status = match (self.success, self.upcoming, self.tbd) {
            (Some(true), ..) => Some("Success"),
            (Some(false), ..) => Some("Failure"),
            (None, Some(true), Some(true)) => Some("TBD"),
            (None, Some(true), _) => Some("Upcoming"),
            _ => None,
        };
        let (rocket, rocket_family, rocket_image_url) = match self.rocket {
            Some(WireRef::Id(rid)) => known_rocket(&rid),
            Some(WireRef::Object(o)) => {
                let (name, family, _) =
                    o.id.as_deref()
                        .map(known_rocket)
                        .unwrap_or((None, None, None));
                let name = o.name.or(name);
                let family = family.or_else(|| name.as_deref().and_then(family_of));
                (name, family, o.flickr_images.into_iter().next())
            }
            _ => (None, None, None),
        };
        let (pad, location, pad_timezone) = match self.launchpad {
            Some(WireRef::Object(o)) => {
                let location = match (o.locality, o.region) {
                    (Some(a), Some(b)) => Some(format!("{a}, {b}")),
                    (a, b) => a.or(b),
                };
                (o.name.or(o.full_name), location, o.timezone)
            }
            _ => (None, None, None),
        };
        let links = self.links.unwrap_or_default();
        let (patch_large, patch_small) = match links.patch {
            Some(p) => (p.large, p.small),
            None => (None, None),
        };
        let (flickr_original, flickr_small) = match links.flickr {
            Some(f) => (f.original.into_iter().next(), f.small.into_iter().next()),
            None => (None, None),
        };
        let image_url = patch_large
            .or_else(|| patch_small.clone())
            .or(flickr_original)
            .or(flickr_small);
        let name = self.name.unwrap_or_default();
        Some(SpacexLaunch {
            launch: Launch {
                mission: Some(name.clone()).filter(|n| !n.is_empty()),
                name,
                net,
                status: status.map(str::to_owned),
                provider: Some("SpaceX".into()),
                rocket,
                rocket_family,
                rocket_image_url,
                pad,
                location,
                country: None,
                pad_timezone,
                orbit: None,
                image_url,
                thumbnail_url: patch_small,
                last_updated: None,
                sources: vec![SOURCE.to_owned()],
                source_ids: [(SOURCE.to_owned(), id.clone())].into(),
                id,
            },
            launch_library_id: self.launch_library_id,
        })
    }
}

/// A rocket id's name and family, from [`ROCKETS`]; unknown ids give nothing.
fn known_rocket(id: &str) -> (Option<String>, Option<String>, Option<String>) {
    match ROCKETS.iter().find(|(rid, ..)| *rid == id) {
        Some((_, name, family)) => (Some((*name).to_owned()), Some((*family).to_owned()), None),
        None => (None, None, None),
    }
}

fn family_of(name: &str) -> Option<String> {
    ["Falcon", "Starship"]
        .into_iter()
        .find(|f| name.starts_with(f))
        .map(str::to_owned)
}

/// An optional string: `null`, blanks and non-strings are `None`.
fn text<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(de)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s),
        _ => None,
    })
}

/// A list of URLs: `null` or a non-list is empty, non-string and blank entries are skipped.
fn urls<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(de)?;
    Ok(match v {
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .filter_map(|i| match i {
                serde_json::Value::String(s) if !s.trim().is_empty() => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/spacex")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Every fixture in `fixtures/spacex/`, with its launches and image URLs.
    const FIXTURES: &[(&str, usize, usize)] = &[
        ("v5-upcoming-docs-example-crs20.json", 1, 1),
        ("v5-query-docs-example-page5.json", 1, 1),
        ("v4-launches-2021-02-starlink17-falconsat.json", 2, 2),
        ("v4-upcoming-2020-11-gps-iii-sv04.json", 1, 0),
    ];

    #[test]
    fn every_fixture_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/spacex");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json"))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = FIXTURES.iter().map(|f| f.0.to_owned()).collect();
        listed.sort();
        assert_eq!(on_disk, listed, "every fixture is tested");
        for &(name, launches, images) in FIXTURES {
            let parsed = parse_launches(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(parsed.len(), launches, "{name}");
            let with_image = parsed
                .iter()
                .filter(|l| l.launch.image_url.is_some())
                .count();
            assert_eq!(with_image, images, "{name}");
            for l in &parsed {
                assert!(l.launch.net.is_some(), "{name}: {}", l.launch.id);
                assert_eq!(l.launch.provider.as_deref(), Some("SpaceX"));
                assert_eq!(l.launch.sources, ["spacex"]);
                assert_eq!(l.launch.source_ids["spacex"], l.launch.id);
                assert!(l.launch.rocket.is_some(), "{name}: a known rocket id");
            }
        }
    }

    #[test]
    fn fields_map_from_the_v5_docs_example() {
        let l = &parse_launches(&fixture("v5-upcoming-docs-example-crs20.json")).unwrap()[0];
        assert_eq!(l.launch.id, "5eb87d42ffd86e000604b384");
        assert_eq!(l.launch.name, "CRS-20");
        assert_eq!(l.launch.mission.as_deref(), Some("CRS-20"));
        assert_eq!(l.launch.net, Some("2020-03-07T04:50:31Z".parse().unwrap()));
        assert_eq!(l.launch.status.as_deref(), Some("Success"));
        assert_eq!(l.launch.rocket.as_deref(), Some("Falcon 9"));
        assert_eq!(l.launch.rocket_family.as_deref(), Some("Falcon"));
        assert_eq!(
            l.launch.image_url.as_deref(),
            Some("https://images2.imgbox.com/15/2b/NAcsTEB6_o.png"),
            "the large patch first"
        );
        assert_eq!(
            l.launch.thumbnail_url.as_deref(),
            Some("https://images2.imgbox.com/53/22/dh0XSLXO_o.png")
        );
        assert_eq!(l.launch_library_id, None);
    }

    #[test]
    fn nulls_are_none_and_the_ll2_link_is_kept() {
        // GPS III SV04: patch null, flickr empty, window null, success null.
        let l = &parse_launches(&fixture("v4-upcoming-2020-11-gps-iii-sv04.json")).unwrap()[0];
        assert_eq!(l.launch.image_url, None);
        assert_eq!(l.launch.thumbnail_url, None);
        assert_eq!(l.launch.status.as_deref(), Some("Upcoming"));
        let both =
            parse_launches(&fixture("v4-launches-2021-02-starlink17-falconsat.json")).unwrap();
        assert_eq!(
            both[0].launch_library_id.as_deref(),
            Some("dfd4f0e0-0ab4-494d-bd88-1b93b934b269")
        );
        assert_eq!(both[1].launch_library_id, None, "`launch_library_id: null`");
        assert_eq!(both[1].launch.rocket.as_deref(), Some("Falcon 1"));
        assert_eq!(both[1].launch.status.as_deref(), Some("Failure"));
        // Every field null or missing: still a launch, with nothing but its id.
        let bare = parse_launches(
            br#"[{"id": "x", "name": null, "date_utc": null, "rocket": null, "links": null,
                  "launchpad": null, "success": null, "launch_library_id": null},
                 {"id": "y", "rocket": {"name": "Falcon Heavy", "flickr_images": null},
                  "launchpad": {"name": "KSC LC 39A", "locality": "Cape Canaveral", "region": "Florida",
                                "timezone": "America/New_York"},
                  "links": {"patch": null, "flickr": {"small": [null, ""], "original": null}},
                  "date_utc": "not a date", "date_unix": 1604532480},
                 {"name": "no id"}]"#,
        )
        .unwrap();
        assert_eq!(bare.len(), 2);
        assert_eq!(bare[0].launch.name, "");
        assert_eq!(bare[0].launch.net, None);
        assert_eq!(bare[0].launch.rocket, None);
        assert_eq!(bare[1].launch.rocket_family.as_deref(), Some("Falcon"));
        assert_eq!(bare[1].launch.pad.as_deref(), Some("KSC LC 39A"));
        assert_eq!(
            bare[1].launch.location.as_deref(),
            Some("Cape Canaveral, Florida")
        );
        assert_eq!(
            bare[1].launch.net,
            Some("2020-11-04T23:28:00Z".parse().unwrap()),
            "date_unix when date_utc is unreadable"
        );
        assert_eq!(bare[1].launch.image_url, None);
    }

    #[test]
    fn a_single_launch_and_errors() {
        let one = parse_launches(br#"{"id": "a", "name": "Next"}"#).unwrap();
        assert_eq!(one[0].launch.name, "Next");
        for bad in [
            &br#"{"error": "Not Found"}"#[..],
            br#"[{"id": "a"#,
            b"<html>",
            br#"{"docs": "nope"}"#,
        ] {
            assert!(
                parse_launches(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let dup = parse_launches(br#"[{"id": "a"}, {"id": "a"}]"#).unwrap();
        assert_eq!(dup.len(), 1, "one launch per id");
        // Only object ids stay as they are: nothing can pass for an LL2 launch's id.
        let ids = parse_launches(
            br#"[{"id": "5eb87d46ffd86e000604b388"}, {"id": "aeccc82e-4a01-46dc-a893-1d6d098973e2"}]"#,
        )
        .unwrap();
        let ids: Vec<&str> = ids.iter().map(|l| l.launch.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "5eb87d46ffd86e000604b388",
                "spacex:aeccc82e-4a01-46dc-a893-1d6d098973e2"
            ]
        );
    }
}
