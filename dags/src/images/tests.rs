//! Tests of image naming, sniffing and errors, and of the book's downloader against the
//! mock server.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use super::names::{fnv1a, identity};
use super::*;
use crate::mock::{Fault, MockConfig, MockServer};

fn strings(urls: &[&str]) -> Vec<String> {
    urls.iter().map(|u| (*u).to_owned()).collect()
}

fn names(urls: &[&str]) -> Vec<String> {
    file_names(&strings(urls))
        .into_iter()
        .map(|(_, name)| name.expect("valid name"))
        .collect()
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// Names of the entries in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    names
}

/// A name without its `-<8 hex>` URL hash, for assertions about the readable part.
fn plain(name: &str) -> String {
    let is_hash = |h: &str| h.len() == 8 && h.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some((stem, h)) = name.rsplit_once('-')
        && is_hash(h)
    {
        return stem.to_owned();
    }
    let (stem, ext) = name.rsplit_once('.').expect("a name with an extension");
    match stem.rsplit_once('-') {
        Some((s, h)) if is_hash(h) => format!("{s}.{ext}"),
        _ => panic!("`{name}` has no URL hash"),
    }
}

fn plain_names(urls: &[&str]) -> Vec<String> {
    names(urls).iter().map(|n| plain(n)).collect()
}

fn saved_names(outcomes: &[ImageOutcome]) -> Vec<String> {
    let mut names: Vec<String> = outcomes
        .iter()
        .filter(|o| o.result.is_ok())
        .map(|o| plain(o.file_name.as_deref().expect("name")))
        .collect();
    names.sort();
    names
}

#[test]
fn names_come_from_the_last_segment() {
    assert_eq!(
        plain_names(&[
            "https://thespacedevs-prod.nyc3.digitaloceanspaces.com/media/images/falcon2520925_image_20221009234147.png",
            "https://h/a/photo%20of%20rocket.JPG?size=large#top",
            "https://h/dir/",
            "https://h/caf%C3%A9.webp",
            "https://h/a%2Fb.gif",
        ]),
        [
            "falcon2520925_image_20221009234147.png",
            "photo_of_rocket.JPG",
            "image",
            "caf_.webp",
            "a_b.gif",
        ]
    );
    // Different strings, all named `image`: each gets its own name (`https://h` and
    // `https://h/` are one URL, so the second is numbered).
    let empty = names(&["https://h/", "https://h", "https://h/dir/"]);
    assert!(empty.iter().all(|n| n.starts_with("image-")), "{empty:?}");
    assert_eq!(empty.iter().collect::<HashSet<_>>().len(), 3);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Path segments with what attacks names: dots, slashes (raw and encoded), backslashes,
    /// NUL, unicode, spaces, long runs.
    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("..".to_owned()),
            Just(".".to_owned()),
            Just("%2e%2e".to_owned()),
            Just("%2F..%2F".to_owned()),
            Just("a%00b.png".to_owned()),
            "[a-zA-Z0-9._~%-]{0,40}",
            "\\PC{0,30}",
            "[.]{1,5}[a-z]{0,5}",
            "[a-z]{200,300}\\.png",
        ]
    }

    fn url() -> impl Strategy<Value = String> {
        (
            prop_oneof![Just("http"), Just("https"), Just("ftp")],
            "[a-z]{1,10}(\\.[a-z]{2,3})?",
            prop::collection::vec(segment(), 0..4),
            prop::option::of("[a-z=&0-9]{0,20}"),
        )
            .prop_map(|(scheme, host, segs, query)| {
                let mut u = format!("{scheme}://{host}/{}", segs.join("/"));
                if let Some(q) = query {
                    u.push('?');
                    u.push_str(&q);
                }
                u
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn names_are_safe_single_components(urls in prop::collection::vec(url(), 1..20)) {
            let dir = Path::new("/base/images");
            for (_, name) in file_names(&urls) {
                let Ok(name) = name else { continue };
                prop_assert!(!name.is_empty() && name.len() <= MAX_NAME_LEN, "{name}");
                prop_assert!(!name.starts_with('.'), "{name}");
                prop_assert!(
                    name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
                    "{name}"
                );
                let path = dir.join(&name);
                prop_assert_eq!(path.parent(), Some(dir));
                prop_assert_eq!(path.components().count(), dir.components().count() + 1);
            }
        }

        #[test]
        fn distinct_urls_never_share_a_name(urls in prop::collection::vec(url(), 1..30)) {
            let names: Vec<String> = file_names(&urls)
                .into_iter()
                .filter_map(|(_, n)| n.ok())
                .map(|n| n.to_ascii_lowercase())
                .collect();
            let distinct: HashSet<&String> = names.iter().collect();
            prop_assert_eq!(distinct.len(), names.len(), "{:?}", names);
        }

        #[test]
        fn names_are_stable_across_runs_and_orders(urls in prop::collection::vec(url(), 1..15)) {
            let forward: std::collections::HashMap<String, Result<String, NameError>> =
                file_names(&urls).into_iter().collect();
            let mut reversed = urls.clone();
            reversed.reverse();
            let backward: std::collections::HashMap<String, Result<String, NameError>> =
                file_names(&reversed).into_iter().collect();
            // Deterministic, and independent of order, collisions included (they are
            // numbered in the order of the URLs' text).
            prop_assert_eq!(&forward, &file_names(&urls).into_iter().collect());
            for (url, name) in &forward {
                prop_assert_eq!(name, &backward[url], "{}", url);
            }
        }
    }
}

#[test]
fn hostile_names_stay_inside_the_directory() {
    let hostile = [
        "http://h/images/..%2F..%2Fetc%2Fpasswd",
        "http://h/images/%2e%2e",
        "http://h/images/%2E%2E%2F",
        "http://h/images/..",
        "http://h/a/.hidden.png",
        "http://h/a/...",
        "http://h/a/%2e",
        "http://h/a/b%5C..%5Cc",
        "http://h/a/nul%00byte",
    ];
    for (url, name) in file_names(&strings(&hostile)) {
        let name = name.expect("valid");
        assert!(
            !name.is_empty() && name != "." && name != "..",
            "{url} -> {name}"
        );
        assert!(
            !name.contains(['/', '\\', '\0']) && !name.starts_with('.'),
            "{url} -> {name}"
        );
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        );
    }
    assert_eq!(
        plain_names(&["http://h/images/..%2F..%2Fetc%2Fpasswd"]),
        ["_.._etc_passwd"]
    );
    assert_eq!(plain_names(&["http://h/a/.hidden.png"]), ["hidden.png"]);
}

#[test]
fn colliding_names_all_get_a_stable_hash() {
    let urls = [
        "http://a/x/launch.png",
        "http://b/y/launch.png",
        "http://a/x/launch.png?v=2",
        "http://a/other.png",
        "http://a/LAUNCH.png",
    ];
    let first = names(&urls);
    assert_eq!(first, names(&urls), "deterministic");
    assert_eq!(plain(&first[3]), "other.png");
    for name in [&first[0], &first[1], &first[2], &first[4]] {
        assert!(name.len() == "launch-12345678.png".len(), "{name}");
        assert!(name.to_ascii_lowercase().starts_with("launch-") && name.ends_with(".png"));
    }
    let unique: HashSet<_> = first.iter().map(|n| n.to_ascii_lowercase()).collect();
    assert_eq!(unique.len(), urls.len());
    // The hash is of the URL, not of the batch: the same URL keeps its name.
    assert_eq!(
        names(&["http://a/x/launch.png", "http://c/launch.png"])[0],
        first[0]
    );
    assert_eq!(fnv1a(b""), 0x811c_9dc5);
    assert_eq!(fnv1a(b"a"), 0xe40c_292c);
}

#[test]
fn scheme_and_port_do_not_change_a_name() {
    assert_eq!(
        names(&["http://127.0.0.1:4000/images/a.png"]),
        names(&["https://127.0.0.1:5000/images/a.png"])
    );
    assert_ne!(
        names(&["http://h/images/a.png?v=1"]),
        names(&["http://h/images/a.png?v=2"])
    );
}

#[test]
fn a_hashed_name_that_meets_a_literal_one_is_numbered() {
    let a = "http://a/x.png";
    let hashed = format!("x-{:08x}.png", fnv1a(identity(a).as_bytes()));
    let literal = format!("http://c/{hashed}");
    let got = names(&[a, "http://b/x.png", &literal]);
    let unique: HashSet<_> = got.iter().collect();
    assert_eq!(unique.len(), 3, "{got:?}");
}

#[test]
fn long_names_are_cut_keeping_the_extension() {
    let long = format!("http://h/{}.jpeg", "r".repeat(400));
    let got = names(&[&long]);
    assert_eq!(got[0].len(), MAX_NAME_LEN);
    assert!(got[0].starts_with("rrr") && got[0].ends_with(".jpeg"));
    let twice = names(&[&long, &format!("{long}?2")]);
    assert!(
        twice
            .iter()
            .all(|n| n.len() == MAX_NAME_LEN && n.ends_with(".jpeg"))
    );
    assert_ne!(twice[0], twice[1]);
}

#[test]
fn duplicates_are_reported_once_and_bad_urls_are_errors() {
    let got = file_names(&strings(&[
        "http://h/b.png",
        "not a url",
        "http://h/a.png",
        "http://h/b.png",
        "ftp://h/c.png",
        "file:///etc/passwd",
    ]));
    let urls: Vec<&str> = got.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://h/b.png",
            "not a url",
            "http://h/a.png",
            "ftp://h/c.png",
            "file:///etc/passwd"
        ]
    );
    assert!(matches!(got[1].1, Err(NameError::Invalid { .. })));
    assert_eq!(
        got[3].1.as_ref().expect_err("ftp").to_string(),
        "unsupported URL scheme `ftp`; expected `http` or `https`"
    );
    assert!(matches!(got[4].1, Err(NameError::Scheme { .. })));
    assert_eq!(plain(got[0].1.as_deref().expect("b")), "b.png");
}

#[test]
fn sniffs_magic_bytes() {
    assert_eq!(
        sniff_image(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
        Some(ImageFormat::Png)
    );
    assert_eq!(
        sniff_image(b"\xff\xd8\xff\xe0\0\x10JFIF"),
        Some(ImageFormat::Jpeg)
    );
    assert_eq!(sniff_image(b"GIF87a"), Some(ImageFormat::Gif));
    assert_eq!(sniff_image(b"GIF89a\x01\0"), Some(ImageFormat::Gif));
    assert_eq!(
        sniff_image(b"RIFF\x24\0\0\0WEBPVP8 "),
        Some(ImageFormat::WebP)
    );
    assert_eq!(sniff_image(b"RIFF\x24\0\0\0WAVEfmt "), None);
    assert_eq!(sniff_image(b"<!DOCTYPE html>"), None);
    assert_eq!(sniff_image(b"\x89PNG"), None);
    assert_eq!(sniff_image(b""), None);
}

#[test]
fn errors_read_well_and_classify() {
    assert_eq!(
        FetchError::Status(404).to_string(),
        "HTTP status 404 Not Found"
    );
    assert_eq!(FetchError::Status(404).class(), "http_4xx");
    assert_eq!(FetchError::Status(429).class(), "http_429");
    assert_eq!(FetchError::Status(503).class(), "http_5xx");
    assert_eq!(
        FetchError::NotAnImage {
            content_type: Some("text/html".into())
        }
        .to_string(),
        "not an image (content-type text/html)"
    );
    assert_eq!(
        FetchError::Timeout {
            after: Some(Duration::from_millis(1500))
        }
        .to_string(),
        "timed out after 1.5s"
    );
    assert_eq!(
        FetchError::Truncated {
            expected: 10,
            received: 4
        }
        .to_string(),
        "truncated body: received 4 of 10 bytes"
    );
}

#[tokio::test]
async fn downloads_stream_to_disk_and_duplicates_are_fetched_once() {
    let server = MockServer::start(MockConfig::default().with_image_bytes(300_000))
        .await
        .expect("mock");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("images/nested");
    let (a, b) = (server.image_url("a.png"), server.image_url("b.png"));
    let urls = vec![a.clone(), b.clone(), a.clone(), a.clone()];
    let outcomes = fetch_images(&client(), &urls, &dir, &FetchOptions::default()).await;

    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0].url, a);
    assert_eq!(outcomes[1].url, b);
    for outcome in &outcomes {
        let file = outcome.result.as_ref().expect("downloaded");
        assert_eq!(file.bytes, 300_000);
        assert_eq!(file.format, ImageFormat::Png);
        let on_disk = std::fs::read(&file.path).expect("file");
        assert_eq!(on_disk.len(), 300_000);
        assert_eq!(sniff_image(&on_disk), Some(ImageFormat::Png));
        let record = PictureRecord::from(outcome);
        assert!(record.is_ok());
        assert_eq!(record.bytes, Some(300_000));
    }
    assert_eq!(server.requests("/images/a.png"), 1);
    assert_eq!(server.requests("/images/b.png"), 1);
    let plain_listing = |d: &Path| listing(d).iter().map(|n| plain(n)).collect::<Vec<_>>();
    assert_eq!(plain_listing(&dir), ["a.png", "b.png"]);

    // A second run replaces the files in place.
    let again = fetch_images(&client(), &urls, &dir, &FetchOptions::default()).await;
    assert!(again.iter().all(|o| o.result.is_ok()));
    let plain_listing = |d: &Path| listing(d).iter().map(|n| plain(n)).collect::<Vec<_>>();
    assert_eq!(plain_listing(&dir), ["a.png", "b.png"]);
}

#[tokio::test]
async fn every_failure_is_classified_and_leaves_no_file() {
    let dead_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let server = MockServer::start(
        MockConfig::default()
            .with_image_bytes(4096)
            .with_image_fault("/images/missing.png", Fault::Status(404))
            .with_image_fault("/images/broken.png", Fault::Status(500))
            .with_image_fault("/images/throttled.png", Fault::RetryAfter(30))
            .with_image_fault("/images/portal.png", Fault::Html)
            .with_image_fault("/images/cut.png", Fault::Truncated)
            .with_image_fault("/images/huge.png", Fault::Huge(10 * 1024 * 1024))
            .with_image_fault("/images/reset.png", Fault::Reset)
            .with_image_fault("/images/slow.png", Fault::Delay(Duration::from_secs(30))),
    )
    .await
    .expect("mock");
    let cases = [
        (server.image_url("ok.png"), None),
        (server.image_url("missing.png"), Some("http_4xx")),
        (server.base_url() + "/nowhere/x.png", Some("http_4xx")),
        (server.image_url("broken.png"), Some("http_5xx")),
        (server.image_url("throttled.png"), Some("http_429")),
        (server.image_url("portal.png"), Some("not_an_image")),
        (server.image_url("cut.png"), Some("truncated")),
        (server.image_url("huge.png"), Some("too_large")),
        (server.image_url("reset.png"), Some("http")),
        (server.image_url("slow.png"), Some("timeout")),
        (
            format!("http://127.0.0.1:{dead_port}/images/x.png"),
            Some("connect"),
        ),
        ("ftp://127.0.0.1/x.png".to_owned(), Some("invalid_url")),
        ("http://".to_owned(), Some("invalid_url")),
    ];
    let urls: Vec<String> = cases.iter().map(|(u, _)| u.clone()).collect();
    let opts = FetchOptions {
        max_bytes: 1024 * 1024,
        timeout: Duration::from_secs(1),
        ..FetchOptions::default()
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let outcomes = fetch_images(&client(), &urls, tmp.path(), &opts).await;

    assert_eq!(outcomes.len(), cases.len());
    for ((url, class), outcome) in cases.iter().zip(&outcomes) {
        assert_eq!(&outcome.url, url);
        let got = outcome.result.as_ref().err().map(FetchError::class);
        assert_eq!(got, *class, "{url}: {:?}", outcome.result);
        let record = PictureRecord::from(outcome);
        assert_eq!(record.error_class.as_deref(), *class);
    }
    let error = |i: usize| outcomes[i].result.as_ref().expect_err("failed").to_string();
    assert_eq!(error(1), "HTTP status 404 Not Found");
    assert_eq!(error(5), "not an image (content-type image/png)");
    assert_eq!(error(6), "truncated body: received 2048 of 4096 bytes");
    assert_eq!(error(7), "larger than the limit of 1048576 bytes");
    assert_eq!(error(9), "timed out after 1s");
    assert_eq!(error(10), "connection refused");
    assert_eq!(
        error(8),
        "transport error: connection closed before message completed"
    );
    assert_eq!(
        listing(tmp.path())
            .iter()
            .map(|n| plain(n))
            .collect::<Vec<_>>(),
        ["ok.png"]
    );
}

#[tokio::test]
async fn content_length_over_the_limit_is_refused_before_the_body() {
    let server = MockServer::start(MockConfig::default().with_image_bytes(64 * 1024))
        .await
        .expect("mock");
    let opts = FetchOptions {
        max_bytes: 1000,
        ..FetchOptions::default()
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let outcomes = fetch_images(&client(), &[server.image_url("big.png")], tmp.path(), &opts).await;
    assert!(matches!(
        outcomes[0].result,
        Err(FetchError::TooLarge { limit: 1000 })
    ));
    assert!(listing(tmp.path()).is_empty());
}

#[tokio::test]
async fn hostile_and_colliding_names_never_escape_or_overwrite() {
    let server = MockServer::start(MockConfig::default())
        .await
        .expect("mock");
    let base = server.base_url();
    let localhost = base.replace("127.0.0.1", "localhost");
    let urls = vec![
        format!("{base}/images/..%2F..%2Fetc%2Fpasswd"),
        format!("{base}/images/%2e%2e"),
        format!("{base}/images/a/.hidden.png"),
        format!("{base}/images/x.png?v=1"),
        format!("{base}/images/x.png?v=2"),
        format!("{base}/images/a/x.png"),
        format!("{base}/images/b/x.png"),
        format!("{localhost}/images/x.png"),
        format!("{base}/images/..%5C..%5Cwin.png"),
    ];
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("out");
    let outcomes = fetch_images(&client(), &urls, &dir, &FetchOptions::default()).await;

    assert_eq!(
        listing(tmp.path()),
        ["out"],
        "nothing written beside the directory"
    );
    let saved = saved_names(&outcomes);
    // `%2e%2e` is `..` to the URL parser, so that request goes to `/` and gets a 404.
    assert_eq!(saved.len(), urls.len() - 1, "{outcomes:#?}");
    let on_disk: Vec<String> = listing(&dir).iter().map(|n| plain(n)).collect();
    assert_eq!(on_disk, saved, "one file per successful URL");
    assert_eq!(listing(&dir).len(), saved.len());
    for outcome in outcomes.iter().filter(|o| o.result.is_ok()) {
        let path = &outcome.result.as_ref().expect("ok").path;
        assert_eq!(path.parent(), Some(dir.as_path()));
    }
    assert!(saved.iter().filter(|n| *n == "x.png").count() == 5);
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let server = MockServer::start(
        MockConfig::default()
            .with_latency(Duration::from_millis(40))
            .with_image_bytes(1024),
    )
    .await
    .expect("mock");
    let urls: Vec<String> = (0..16)
        .map(|i| server.image_url(&format!("{i}.png")))
        .collect();
    let opts = FetchOptions {
        concurrency: 3,
        ..FetchOptions::default()
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let outcomes = fetch_images(&client(), &urls, tmp.path(), &opts).await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    let got: Vec<&str> = outcomes.iter().map(|o| o.url.as_str()).collect();
    assert_eq!(got, urls, "input order");
    assert!(server.max_in_flight() <= 3, "{}", server.max_in_flight());
    assert!(server.max_in_flight() >= 2, "downloads should overlap");
    assert_eq!(listing(tmp.path()).len(), 16);
}

#[test]
fn one_image_spelled_twice_gets_the_same_names_in_any_order() {
    // Found by the property above: `/..` resolves to `/`, so both URLs name one image.
    let urls = ["http://d/".to_owned(), "http://d/..".to_owned()];
    let forward: std::collections::HashMap<_, _> = file_names(&urls).into_iter().collect();
    let backward: std::collections::HashMap<_, _> = file_names(&[urls[1].clone(), urls[0].clone()])
        .into_iter()
        .collect();
    assert_eq!(forward, backward);
    assert_ne!(
        forward[&urls[0]], forward[&urls[1]],
        "still one file per URL"
    );
}
