//! Tests of the mock server: its PNGs, faults in order, pages and their links.

use axum::http::header;

use super::png::{MINIMAL_PNG, png_of_size};
use super::*;

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

#[test]
fn generated_png_has_valid_chunks_and_exact_size() {
    assert_eq!(crc32fast::hash(&MINIMAL_PNG[12..29]), 0x1F15_C489);
    for size in [0, 67, 78, 79, 80, 20 * 1024] {
        let png = png_of_size(size);
        assert_eq!(png.len(), if size < 79 { 67 } else { size }, "{size}");
        assert_eq!(&png[..8], &MINIMAL_PNG[..8]);
        // Walk the chunks and check every CRC.
        let mut at = 8;
        let mut types = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().expect("4")) as usize;
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().expect("4"));
            assert_eq!(crc32fast::hash(&png[at + 4..at + 8 + len]), crc);
            types.push(String::from_utf8_lossy(&png[at + 4..at + 8]).into_owned());
            at += 12 + len;
        }
        assert_eq!(at, png.len());
        assert_eq!(types.last().map(String::as_str), Some("IEND"));
    }
}

#[tokio::test]
async fn launch_faults_apply_in_order_then_the_page_is_served() {
    let server = MockServer::start(
        MockConfig::default().with_launch_faults([Fault::Status(503), Fault::Status(503)]),
    )
    .await
    .expect("start");
    let client = client();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = client
            .get(server.launches_url())
            .send()
            .await
            .expect("send");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [503, 503, 200]);

    let image = client
        .get(server.image_url("x.png"))
        .send()
        .await
        .expect("image");
    assert_eq!(image.content_length(), Some(20 * 1024));
    assert_eq!(image.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(server.requests(LAUNCHES_PATH), 3);
    server.shutdown().await;
}

#[tokio::test]
async fn served_page_points_only_at_the_mock() {
    let server = MockServer::start(MockConfig::default())
        .await
        .expect("start");
    let body = client()
        .get(server.launches_url())
        .send()
        .await
        .expect("send")
        .bytes()
        .await
        .expect("body");
    let page = crate::ll2::parse_page(&body).expect("page");
    assert_eq!(page.results.len(), 10);
    assert_eq!(page.count, Some(10));
    assert_eq!(page.next, None);
    let base = format!("{}/images/", server.base_url());
    for launch in &page.results {
        let url = launch.image_url.as_deref().expect("image");
        assert!(url.starts_with(&base), "{url}");
    }
    assert!(
        page.results[0]
            .image_url
            .as_deref()
            .is_some_and(|u| u.ends_with("/images/falcon2520925_image_20221009234147.png"))
    );
}

#[tokio::test]
async fn pages_follow_next_links() {
    let server = MockServer::start(MockConfig::default().with_page_size(4))
        .await
        .expect("start");
    let client = client();
    let (mut url, mut ids, mut pages) = (Some(server.launches_url()), Vec::new(), 0);
    while let Some(next) = url {
        let body = client
            .get(next)
            .send()
            .await
            .expect("send")
            .bytes()
            .await
            .expect("body");
        let page = crate::ll2::parse_page(&body).expect("page");
        ids.extend(page.results.into_iter().map(|l| l.id));
        url = page.next;
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 10);
    let all = crate::ll2::parse_page(BUNDLED_LAUNCHES_JSON.as_bytes()).expect("snapshot");
    let expected: Vec<_> = all.results.into_iter().map(|l| l.id).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn transport_faults_reach_the_client_as_errors() {
    let server = MockServer::start(
        MockConfig::default()
            .with_launches_json("not json")
            .with_launch_faults([Fault::Reset, Fault::Truncated, Fault::RetryAfter(7)]),
    )
    .await
    .expect("start");
    let client = client();
    let reset = client.get(server.launches_url()).send().await;
    assert!(reset.is_err(), "reset must fail the request: {reset:?}");

    let truncated = client
        .get(server.launches_url())
        .send()
        .await
        .expect("head");
    assert_eq!(truncated.content_length(), Some(8));
    assert!(truncated.bytes().await.is_err());

    let throttled = client
        .get(server.launches_url())
        .send()
        .await
        .expect("send");
    assert_eq!(throttled.status().as_u16(), 429);
    assert_eq!(throttled.headers()[header::RETRY_AFTER], "7");

    let raw = client
        .get(server.launches_url())
        .send()
        .await
        .expect("send");
    assert_eq!(raw.text().await.expect("text"), "not json");
}
