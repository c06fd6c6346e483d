//! The Launch Library 2 (LL2) data model: one page of launches, as the Rocket DAG needs it.
//!
//! LL2 has shipped several response shapes over the years (API 2.0.0, 2.2.0 and 2.3.0). They
//! are read through private "wire" types that accept all of them, then flattened into the
//! small [`Launch`] record. `Launch`'s own serde form is plain, so a task can persist it as
//! JSON and read it back unchanged.
//!
//! ```
//! # use dags::ll2::parse_page;
//! let page = parse_page(br#"{"count": 1, "next": null, "results": [
//!     {"id": "abc", "name": "Falcon 9 | Demo", "image": "https://example.com/f9.png"}
//! ]}"#)?;
//! assert_eq!(page.results[0].image_url.as_deref(), Some("https://example.com/f9.png"));
//! # Ok::<(), dags::ll2::ParseError>(())
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// One launch, flattened from an LL2 launch object.
///
/// Every optional field is `None` when the API sent `null`, an empty string, or nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    /// LL2's launch id (a UUID in every known API version).
    pub id: String,
    /// Display name, e.g. `"Falcon 9 Block 5 | Starlink Group 6-108"`; `""` if the API sent none.
    pub name: String,
    /// The "no earlier than" launch time.
    pub net: Option<DateTime<Utc>>,
    /// Status name, e.g. `"Go"` or `"Launch Successful"` (its abbreviation if the name is absent).
    pub status: Option<String>,
    /// Name of the launch service provider, e.g. `"SpaceX"`.
    pub provider: Option<String>,
    /// Rocket configuration's full name (its short name if the full name is absent).
    pub rocket: Option<String>,
    /// Rocket family, e.g. `"Falcon"` (API 2.3.0: the first of `families`).
    #[serde(default)]
    pub rocket_family: Option<String>,
    /// An image of the rocket configuration (API 2.2.0 `image_url`, 2.3.0 `image.image_url`):
    /// the fallback when the launch's own image fails.
    #[serde(default)]
    pub rocket_image_url: Option<String>,
    /// Launch pad name.
    pub pad: Option<String>,
    /// Name of the pad's location, e.g. `"Kennedy Space Center, FL, USA"`.
    pub location: Option<String>,
    /// Country of the pad, e.g. `"USA"` (API 2.3.0: the country object's alpha-3 or alpha-2 code).
    #[serde(default)]
    pub country: Option<String>,
    /// IANA time zone of the pad's location, e.g. `"America/New_York"` (API 2.2.0 and later).
    #[serde(default)]
    pub pad_timezone: Option<String>,
    /// Mission name.
    pub mission: Option<String>,
    /// Target orbit, e.g. `"Low Earth Orbit"`.
    #[serde(default)]
    pub orbit: Option<String>,
    /// URL of the launch's image.
    pub image_url: Option<String>,
    /// URL of a thumbnail of the image (API 2.3.0 and later only).
    pub thumbnail_url: Option<String>,
    /// When the API last changed this launch (LL2 2.2.0 and later send `last_updated`; `None`
    /// for 2.0.0, and when the value cannot be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<DateTime<Utc>>,
    /// The sources this launch came from, e.g. `["ll2", "spacex"]` once
    /// [`crate::sources::merge`] has folded the same launch of two APIs into one; empty (and
    /// left out of the JSON) for a launch read from one source alone, as in `rocket_launches`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// The launch's id in each of its [`sources`](Launch::sources), e.g.
    /// `{"ll2": "<uuid>", "spacex": "<object id>"}`; empty (and left out) like `sources`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub source_ids: std::collections::BTreeMap<String, String>,
}

/// One page of a launch list (`/launch/upcoming/` and friends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchPage {
    /// Total number of launches over all pages, as reported by the API.
    pub count: Option<u64>,
    /// URL of the next page, if there is one.
    pub next: Option<String>,
    /// The launches on this page, in API order; launches without an id are left out.
    pub results: Vec<Launch>,
}

/// Why a launch list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes are not valid JSON (or end too early).
    #[error("malformed launches JSON at line {line} column {column}: {message}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser expected or found.
        message: String,
    },
    /// The JSON is valid but not shaped like a launch list, e.g. `results` is a string.
    #[error("unexpected launches JSON shape at line {line} column {column}: {message}")]
    Shape {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What was expected and found.
        message: String,
    },
}

impl From<serde_json::Error> for ParseError {
    fn from(err: serde_json::Error) -> Self {
        let (line, column) = (err.line(), err.column());
        // serde_json appends the position to its message; we report it in our own words.
        let full = err.to_string();
        let message = full
            .strip_suffix(&format!(" at line {line} column {column}"))
            .unwrap_or(&full)
            .to_owned();
        match err.classify() {
            serde_json::error::Category::Data => Self::Shape {
                line,
                column,
                message,
            },
            _ => Self::Syntax {
                line,
                column,
                message,
            },
        }
    }
}

/// Parses an LL2 launch list.
///
/// Accepts a page object (`{"count", "next", "previous", "results"}`) or a bare JSON array of
/// launches. Unknown fields are ignored. Launches without an `id` are skipped with a warning.
///
/// # Errors
///
/// [`ParseError`] when the bytes are not JSON or not shaped like a launch list.
pub fn parse_page(bytes: &[u8]) -> Result<LaunchPage, ParseError> {
    // Peek instead of an untagged enum so errors keep serde_json's precise message and position.
    let is_array = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'[');
    let wire = if is_array {
        WirePage {
            count: None,
            next: None,
            results: serde_json::from_slice(bytes)?,
        }
    } else {
        serde_json::from_slice::<WirePage>(bytes)?
    };
    let results = wire
        .results
        .into_iter()
        .enumerate()
        .filter_map(|(index, launch)| {
            let launch = launch.into_launch();
            if launch.is_none() {
                tracing::warn!(index, "skipping a launch without an id");
            }
            launch
        })
        .collect();
    Ok(LaunchPage {
        count: wire.count,
        next: wire.next.filter(|s| !s.trim().is_empty()),
        results,
    })
}

// ---- wire types: what the API sends, in every known version ----

#[derive(Deserialize)]
struct WirePage {
    #[serde(default)]
    count: Option<u64>,
    #[serde(default)]
    next: Option<String>,
    // Required: an error body such as `{"detail": "…"}` served with 200 must not read as an
    // empty list (it would replace a good `launches.json`).
    results: Vec<WireLaunch>,
}

#[derive(Deserialize)]
struct WireLaunch {
    #[serde(default, deserialize_with = "non_empty")]
    id: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    name: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    net: Option<String>,
    #[serde(default)]
    last_updated: Option<WireText>,
    #[serde(default)]
    status: Option<WireStatus>,
    #[serde(default)]
    launch_service_provider: Option<WireNamed>,
    #[serde(default)]
    rocket: Option<WireRocket>,
    #[serde(default)]
    pad: Option<WirePad>,
    #[serde(default)]
    mission: Option<WireMission>,
    #[serde(default)]
    image: Option<WireImage>,
}

#[derive(Deserialize)]
struct WireMission {
    #[serde(default, deserialize_with = "non_empty")]
    name: Option<String>,
    #[serde(default)]
    orbit: Option<WireNamed>,
}

#[derive(Deserialize)]
struct WireStatus {
    #[serde(default, deserialize_with = "non_empty")]
    name: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    abbrev: Option<String>,
}

#[derive(Deserialize)]
struct WireNamed {
    #[serde(default, deserialize_with = "non_empty")]
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireRocket {
    #[serde(default)]
    configuration: Option<WireRocketConfig>,
}

#[derive(Deserialize)]
struct WireRocketConfig {
    #[serde(default, deserialize_with = "non_empty")]
    full_name: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    name: Option<String>,
    /// A string up to 2.2.0.
    #[serde(default)]
    family: Option<WireText>,
    /// Objects from 2.3.0 on.
    #[serde(default)]
    families: Option<Vec<WireNamed>>,
    /// A URL up to 2.2.0.
    #[serde(default)]
    image_url: Option<WireText>,
    /// An image object from 2.3.0 on.
    #[serde(default)]
    image: Option<WireImage>,
}

#[derive(Deserialize)]
struct WirePad {
    #[serde(default, deserialize_with = "non_empty")]
    name: Option<String>,
    #[serde(default)]
    location: Option<WireLocation>,
    /// A code up to 2.2.0, an object from 2.3.0 on.
    #[serde(default)]
    country_code: Option<WireText>,
    #[serde(default)]
    country: Option<WireCountry>,
}

#[derive(Deserialize)]
struct WireLocation {
    #[serde(default, deserialize_with = "non_empty")]
    name: Option<String>,
    #[serde(default)]
    country_code: Option<WireText>,
    #[serde(default)]
    country: Option<WireCountry>,
    #[serde(default)]
    timezone_name: Option<WireText>,
}

#[derive(Deserialize)]
struct WireCountry {
    #[serde(default)]
    alpha_3_code: Option<WireText>,
    #[serde(default)]
    alpha_2_code: Option<WireText>,
    #[serde(default)]
    name: Option<WireText>,
}

impl WireCountry {
    fn code(self) -> Option<String> {
        [self.alpha_3_code, self.alpha_2_code, self.name]
            .into_iter()
            .find_map(|t| t.and_then(WireText::get))
    }
}

/// A field documented as a string that may come as something else (a number, an object):
/// read as text when it is text, ignored otherwise.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireText {
    Text(String),
    Other(serde::de::IgnoredAny),
}

impl WireText {
    fn get(self) -> Option<String> {
        match self {
            WireText::Text(s) if !s.trim().is_empty() => Some(s),
            _ => None,
        }
    }
}

/// `image` is a URL string up to API 2.2.0 and an object from 2.3.0 on.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireImage {
    Url(String),
    Object {
        #[serde(default, deserialize_with = "non_empty")]
        image_url: Option<String>,
        #[serde(default, deserialize_with = "non_empty")]
        thumbnail_url: Option<String>,
    },
    // Any other shape: no image rather than a failed page.
    Other(serde::de::IgnoredAny),
}

impl WireLaunch {
    fn into_launch(self) -> Option<Launch> {
        let id = self.id?;
        let net = self.net.and_then(|raw| match DateTime::parse_from_rfc3339(&raw) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(err) => {
                tracing::warn!(launch = %id, net = %raw, cause = %err, "ignoring an unreadable launch time");
                None
            }
        });
        let last_updated = self.last_updated.and_then(WireText::get).and_then(|raw| {
            match DateTime::parse_from_rfc3339(&raw) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(err) => {
                    tracing::warn!(launch = %id, last_updated = %raw, cause = %err, "ignoring an unreadable last_updated");
                    None
                }
            }
        });
        let (image_url, thumbnail_url) = match self.image {
            Some(WireImage::Url(url)) => (Some(url).filter(|u| !u.trim().is_empty()), None),
            Some(WireImage::Object {
                image_url,
                thumbnail_url,
            }) => (image_url, thumbnail_url),
            Some(WireImage::Other(_)) | None => (None, None),
        };
        let config = self.rocket.and_then(|r| r.configuration);
        let (rocket, rocket_family, rocket_image_url) = match config {
            Some(c) => (
                c.full_name.or(c.name),
                c.family
                    .and_then(WireText::get)
                    .or_else(|| c.families.and_then(|f| f.into_iter().find_map(|n| n.name))),
                c.image_url.and_then(WireText::get).or(match c.image {
                    Some(WireImage::Url(u)) => Some(u).filter(|u| !u.trim().is_empty()),
                    Some(WireImage::Object { image_url, .. }) => image_url,
                    _ => None,
                }),
            ),
            None => (None, None, None),
        };
        let (pad, location, country, pad_timezone) = match self.pad {
            Some(p) => {
                let (loc_name, loc_country, tz) = match p.location {
                    Some(l) => (
                        l.name,
                        l.country_code
                            .and_then(WireText::get)
                            .or_else(|| l.country.and_then(WireCountry::code)),
                        l.timezone_name.and_then(WireText::get),
                    ),
                    None => (None, None, None),
                };
                let country = p
                    .country_code
                    .and_then(WireText::get)
                    .or_else(|| p.country.and_then(WireCountry::code))
                    .or(loc_country);
                (p.name, loc_name, country, tz)
            }
            None => (None, None, None, None),
        };
        let (mission, orbit) = match self.mission {
            Some(m) => (m.name, m.orbit.and_then(|o| o.name)),
            None => (None, None),
        };
        Some(Launch {
            name: self.name.unwrap_or_default(),
            net,
            status: self.status.and_then(|s| s.name.or(s.abbrev)),
            provider: self.launch_service_provider.and_then(|p| p.name),
            rocket,
            rocket_family,
            rocket_image_url,
            pad,
            location,
            country,
            pad_timezone,
            mission,
            orbit,
            image_url,
            thumbnail_url,
            last_updated,
            sources: Vec::new(),
            source_ids: Default::default(),
            id,
        })
    }
}

/// Reads an optional string, mapping `null` and blank strings to `None`.
fn non_empty<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(de)?;
    Ok(value.filter(|s| !s.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            /// Whatever the bytes, parsing returns (a page or an error), never panics.
            #[test]
            fn any_bytes_parse_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
                let _ = parse_page(&bytes);
            }

            /// Launch lists with odd values in every field.
            #[test]
            fn odd_field_values_never_panic(
                id in prop_oneof![Just(serde_json::Value::Null), any::<i64>().prop_map(serde_json::Value::from), "\\PC{0,10}".prop_map(serde_json::Value::from)],
                image in prop_oneof![Just(serde_json::Value::Null), any::<bool>().prop_map(serde_json::Value::from), "\\PC{0,20}".prop_map(serde_json::Value::from), Just(serde_json::json!({"image_url": 3}))],
                net in "\\PC{0,30}",
            ) {
                let doc = serde_json::json!({"results": [{"id": id, "image": image, "net": net, "pad": {"location": 7}}]});
                let _ = parse_page(doc.to_string().as_bytes());
            }
        }
    }

    fn fixture_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/ll2")
    }

    /// (file, count, results, launches without image, distinct image URLs, has next)
    const FIXTURES: &[(&str, u64, usize, usize, usize, bool)] = &[
        (
            "v2.0.0-launch-net-window-2026-03-05.json",
            2,
            2,
            0,
            2,
            false,
        ),
        (
            "v2.0.0-launch-net-window-empty-2026-03-03.json",
            0,
            0,
            0,
            0,
            false,
        ),
        (
            "v2.0.0-upcoming-2020-12-basph-snippet.json",
            178,
            10,
            0,
            8,
            true,
        ),
        ("v2.0.0-upcoming-2024-03.json", 357, 10, 0, 7, true),
        ("v2.0.0-upcoming-2025-03.json", 332, 10, 0, 8, true),
        ("v2.0.0-upcoming-2026-03.json", 366, 10, 0, 5, true),
        (
            "v2.0.0-upcoming-status1-2021-09-null-image.json",
            5,
            5,
            1,
            4,
            false,
        ),
        (
            "v2.2.0-upcoming-limit5-2025-09-null-image.json",
            325,
            5,
            1,
            2,
            true,
        ),
        ("v2.2.0-upcoming-limit5-2025-11.json", 350, 5, 0, 5, true),
    ];

    fn load(name: &str) -> LaunchPage {
        let bytes = std::fs::read(fixture_dir().join(name)).expect("read fixture");
        parse_page(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn every_fixture_is_listed_and_parses_with_expected_counts() {
        let mut on_disk: Vec<String> = std::fs::read_dir(fixture_dir())
            .expect("fixture dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .into_string()
                    .expect("utf-8 name")
            })
            .filter(|n| n.ends_with(".json"))
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = FIXTURES.iter().map(|f| f.0).collect();
        assert_eq!(on_disk, listed, "FIXTURES must list every fixture file");

        for &(name, count, results, no_image, distinct, has_next) in FIXTURES {
            let page = load(name);
            assert_eq!(page.count, Some(count), "{name}");
            assert_eq!(page.results.len(), results, "{name}");
            assert_eq!(page.next.is_some(), has_next, "{name}");
            let missing = page
                .results
                .iter()
                .filter(|l| l.image_url.is_none())
                .count();
            assert_eq!(missing, no_image, "{name}");
            let mut urls: Vec<_> = page
                .results
                .iter()
                .filter_map(|l| l.image_url.clone())
                .collect();
            urls.sort();
            urls.dedup();
            assert_eq!(urls.len(), distinct, "{name}");
            for launch in &page.results {
                assert!(!launch.id.is_empty() && !launch.name.is_empty(), "{name}");
                assert!(launch.net.is_some(), "{name}: {}", launch.name);
                assert!(
                    launch.status.is_some() && launch.provider.is_some(),
                    "{name}"
                );
                assert!(launch.rocket.is_some() && launch.pad.is_some(), "{name}");
                assert!(launch.location.is_some(), "{name}");
            }
        }
    }

    #[test]
    fn every_fixture_round_trips_through_launch_serde() {
        for &(name, ..) in FIXTURES {
            let page = load(name);
            let json = serde_json::to_string(&page).expect("serialize");
            let back: LaunchPage = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, page, "{name}");
            for launch in &page.results {
                let json = serde_json::to_vec(launch).expect("serialize");
                let back: Launch = serde_json::from_slice(&json).expect("deserialize");
                assert_eq!(&back, launch, "{name}");
            }
        }
    }

    #[test]
    fn fields_are_flattened_from_the_2_0_0_and_2_2_0_shapes() {
        let old = &load("v2.0.0-upcoming-2020-12-basph-snippet.json").results[0];
        assert_eq!(
            old,
            &Launch {
                id: "528b72ff-e47e-46a3-b7ad-23b2ffcec2f2".into(),
                name: "Falcon 9 Block 5 | NROL-108".into(),
                net: Some("2020-12-19T14:00:00Z".parse().expect("time")),
                status: Some("Success".into()),
                provider: Some("SpaceX".into()),
                rocket: Some("Falcon 9 Block 5".into()),
                rocket_family: Some("Falcon".into()),
                rocket_image_url: None,
                pad: Some("Launch Complex 39A".into()),
                location: Some("Kennedy Space Center, FL, USA".into()),
                country: Some("USA".into()),
                pad_timezone: None,
                mission: Some("NROL-108".into()),
                orbit: None,
                image_url: Some("https://spacelaunchnow-prod-east.nyc3.digitaloceanspaces.com/media/launch_images/falcon2520925_image_20201217060406.jpeg".into()),
                thumbnail_url: None,
                last_updated: None,
                sources: Vec::new(),
                source_ids: Default::default(),
            }
        );
        let new = &load("v2.2.0-upcoming-limit5-2025-11.json").results[0];
        assert_eq!(new.status.as_deref(), Some("Launch Successful"));
        assert_eq!(new.rocket.as_deref(), Some("Falcon 9 Block 5"));
        assert_eq!(new.location.as_deref(), Some("Vandenberg SFB, CA, USA"));
        assert_eq!(new.pad_timezone.as_deref(), Some("America/Los_Angeles"));
        assert_eq!(new.country.as_deref(), Some("USA"));
        assert_eq!(new.orbit.as_deref(), Some("Low Earth Orbit"));
        assert_eq!(new.rocket_family.as_deref(), Some("Falcon"));
        assert!(new.last_updated.is_some(), "2.2.0 sends last_updated");
        assert_eq!(old.last_updated, None, "2.0.0 does not");

        let with_null_mission = load("v2.0.0-upcoming-2020-12-basph-snippet.json")
            .results
            .iter()
            .filter(|l| l.mission.is_none())
            .count();
        assert_eq!(with_null_mission, 2);
    }

    #[test]
    fn reads_the_2_3_0_shape_with_an_image_object() {
        let json = r#"{"count": 7572, "next": "https://ll.thespacedevs.com/2.3.0/launches/?limit=1&offset=1", "previous": null, "results": [{
            "id": "e3df2ecd-c239-472f-95e4-2b89b4f75800",
            "url": "https://ll.thespacedevs.com/2.3.0/launches/e3df2ecd-c239-472f-95e4-2b89b4f75800/",
            "name": "Sputnik 8K74PS | Sputnik 1",
            "response_mode": "normal",
            "status": {"id": 3, "name": "Launch Successful", "abbrev": "Success", "description": "ok"},
            "net": "1957-10-04T19:28:34Z",
            "net_precision": {"id": 0, "name": "Second", "abbrev": "SEC"},
            "image": {"id": 1, "name": "[AUTO] Sputnik 8K74PS - image",
                "image_url": "https://thespacedevs-prod.nyc3.digitaloceanspaces.com/media/images/sputnik_8k74ps_image_20210830185541.jpg",
                "thumbnail_url": "https://thespacedevs-prod.nyc3.digitaloceanspaces.com/media/images/255bauto255d__image_thumbnail_20240828203253.jpeg",
                "credit": null, "license": {"id": 1, "name": "Unknown", "priority": 9, "link": null},
                "single_use": false, "variants": []},
            "launch_service_provider": {"id": 66, "name": "Soviet Space Program", "abbrev": "CCCP", "type": {"id": 1, "name": "Government"}},
            "rocket": {"id": 3003, "configuration": {"id": 468, "name": "Sputnik 8K74PS", "full_name": "", "variant": ""}},
            "mission": {"id": 1430, "name": "Sputnik 1", "type": "Test Flight", "image": null},
            "pad": {"id": 32, "name": "1/5", "location": {"id": 15, "name": "Baikonur Cosmodrome, Republic of Kazakhstan"}}
        }]}"#;
        let page = parse_page(json.as_bytes()).expect("2.3.0 page");
        let launch = &page.results[0];
        assert_eq!(page.count, Some(7572));
        assert!(
            launch
                .image_url
                .as_deref()
                .is_some_and(|u| u.ends_with("sputnik_8k74ps_image_20210830185541.jpg"))
        );
        assert!(
            launch
                .thumbnail_url
                .as_deref()
                .is_some_and(|u| u.contains("_thumbnail_"))
        );
        // An empty `full_name` falls back to the short name.
        assert_eq!(launch.rocket.as_deref(), Some("Sputnik 8K74PS"));
        assert_eq!(launch.provider.as_deref(), Some("Soviet Space Program"));
        let back: Launch =
            serde_json::from_str(&serde_json::to_string(launch).expect("ser")).expect("de");
        assert_eq!(&back, launch);
    }

    #[test]
    fn reads_the_2_3_0_report_fields() {
        let page = parse_page(
            br#"{"results": [{
                "id": "x", "name": "Electron | Test",
                "rocket": {"configuration": {"name": "Electron", "families": [{"id": 1, "name": "Electron"}],
                    "image": {"image_url": "https://example.com/electron.jpg", "thumbnail_url": null}}},
                "mission": {"name": "Test", "orbit": {"id": 8, "name": "Low Earth Orbit", "abbrev": "LEO"}},
                "pad": {"name": "LC-1A", "country": {"id": 1, "name": "New Zealand", "alpha_2_code": "NZ", "alpha_3_code": "NZL"},
                    "location": {"name": "Mahia", "timezone_name": "Pacific/Auckland", "country": {"alpha_2_code": "NZ"}}}
            }, {
                "id": "y", "name": "odd types",
                "rocket": {"configuration": {"name": "R", "family": 7, "image_url": {"odd": true}}},
                "pad": {"name": "P", "country_code": 12, "location": {"name": "L", "timezone_name": null, "country_code": "FRA"}}
            }]}"#,
        )
        .expect("page");
        let x = &page.results[0];
        assert_eq!(x.rocket_family.as_deref(), Some("Electron"));
        assert_eq!(
            x.rocket_image_url.as_deref(),
            Some("https://example.com/electron.jpg")
        );
        assert_eq!(x.country.as_deref(), Some("NZL"));
        assert_eq!(x.pad_timezone.as_deref(), Some("Pacific/Auckland"));
        assert_eq!(x.orbit.as_deref(), Some("Low Earth Orbit"));
        let y = &page.results[1];
        assert_eq!(
            (y.rocket_family.as_deref(), y.rocket_image_url.as_deref()),
            (None, None)
        );
        assert_eq!(
            y.country.as_deref(),
            Some("FRA"),
            "the location's code when the pad's is odd"
        );
        assert_eq!(y.pad_timezone, None);
    }

    #[test]
    fn image_may_be_null_missing_empty_object_or_odd() {
        let page = parse_page(
            br#"{"results": [
                {"id": "a", "name": "null", "image": null},
                {"id": "b", "name": "missing"},
                {"id": "c", "name": "empty", "image": ""},
                {"id": "d", "name": "object without url", "image": {"id": 3, "image_url": null, "thumbnail_url": ""}},
                {"id": "e", "name": "number", "image": 42}
            ]}"#,
        )
        .expect("page");
        assert_eq!(page.results.len(), 5);
        for launch in &page.results {
            assert_eq!(launch.image_url, None, "{}", launch.name);
            assert_eq!(launch.thumbnail_url, None, "{}", launch.name);
        }
        assert_eq!(page.count, None);
        assert_eq!(page.next, None);
    }

    #[test]
    fn empty_strings_become_none_and_id_less_launches_are_skipped() {
        let page = parse_page(
            br#"{"count": 3, "next": "", "results": [
                {"id": "a", "name": "", "net": "", "status": {"name": "", "abbrev": "TBD"},
                 "launch_service_provider": {"name": ""}, "rocket": {"configuration": {"full_name": "", "name": ""}},
                 "pad": {"name": "", "location": {"name": " "}}, "mission": {"name": ""}, "image": ""},
                {"name": "no id"},
                {"id": "", "name": "blank id"},
                {"id": "b", "net": "not a date"}
            ]}"#,
        )
        .expect("page");
        assert_eq!(page.next, None);
        let ids: Vec<&str> = page.results.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let a = &page.results[0];
        assert_eq!(
            a,
            &Launch {
                id: "a".into(),
                name: String::new(),
                net: None,
                status: Some("TBD".into()),
                provider: None,
                rocket: None,
                rocket_family: None,
                rocket_image_url: None,
                pad: None,
                location: None,
                country: None,
                pad_timezone: None,
                mission: None,
                orbit: None,
                image_url: None,
                thumbnail_url: None,
                last_updated: None,
                sources: Vec::new(),
                source_ids: Default::default(),
            }
        );
        assert_eq!(page.results[1].net, None);
    }

    #[test]
    fn an_object_without_results_is_not_a_launch_list() {
        for doc in [&b"{}"[..], br#"{"detail": "Request was throttled."}"#] {
            let err = parse_page(doc).unwrap_err().to_string();
            assert!(err.contains("missing field `results`"), "{err}");
        }
    }

    #[test]
    fn a_bare_array_of_launches_is_a_page_without_count() {
        let page = parse_page(b" [{\"id\": \"x\", \"name\": \"X\"}]").expect("array");
        assert_eq!(page.count, None);
        assert_eq!(page.results.len(), 1);
    }

    #[test]
    fn malformed_json_names_the_position() {
        let err = parse_page(b"{\n  \"count\": 1,\n    ]").expect_err("malformed");
        assert_eq!(
            err.to_string(),
            "malformed launches JSON at line 3 column 5: key must be a string"
        );
        assert!(matches!(
            err,
            ParseError::Syntax {
                line: 3,
                column: 5,
                ..
            }
        ));

        let err = parse_page(b"").expect_err("empty");
        assert_eq!(
            err.to_string(),
            "malformed launches JSON at line 1 column 0: EOF while parsing a value"
        );

        let err = parse_page(br#"{"results": "nope"}"#).expect_err("wrong shape");
        assert_eq!(
            err.to_string(),
            "unexpected launches JSON shape at line 1 column 18: invalid type: string \"nope\", expected a sequence"
        );
    }
}
