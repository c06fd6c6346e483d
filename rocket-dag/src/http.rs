//! The HTTP client tasks share.

use std::time::Duration;

/// A client with rustls (ring), gzip, HTTP/2 and sane timeouts.
///
/// reqwest is built without a default TLS crypto provider (that keeps aws-lc out of the build),
/// so every client must be made after `ring` is installed as the process default: this does it.
pub fn client() -> reqwest::Client {
    builder()
        .build()
        .expect("the HTTP client configuration is valid")
}

/// The builder behind [`client`], to adjust timeouts or headers.
pub fn builder() -> reqwest::ClientBuilder {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("rocket-dag/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(30))
}
