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
///
/// Redirects: at most 10, and never from `https` to `http` (a downgrade would expose what
/// the request carries). reqwest itself drops `Authorization` and cookies when a redirect
/// leaves the host or port; with the downgrade refused, credentials never leave the origin
/// (scheme, host, port) they were sent to.
pub fn builder() -> reqwest::ClientBuilder {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        let downgrade = attempt.url().scheme() == "http"
            && attempt.previous().iter().any(|u| u.scheme() == "https");
        if downgrade {
            attempt.error("refusing a redirect from https to http")
        } else if attempt.previous().len() >= 10 {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .user_agent(concat!("rocket-dag/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(30))
        .redirect(redirects)
}

/// The origin of a URL, `scheme://host:port` (the port made explicit): credentials configured
/// for one origin go to that origin only. `None` for what is not an absolute URL with a host.
pub fn origin(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    Some(format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

/// Why asking again after `err` cannot help, if that is so: the host name cannot be resolved
/// (it does not exist, or there is no network to ask: a machine offline stays offline for the
/// seconds a retry waits), or the URL cannot be fetched at all (no host, a scheme other than
/// `http`/`https` such as `file://`). Retrying those only delays the failure (and spends a
/// rate-limited API's quota).
pub fn permanent_failure(err: &reqwest::Error) -> Option<&'static str> {
    if err.is_builder() {
        return Some("the URL cannot be requested (no host, or not http/https)");
    }
    if let Some(url) = err.url()
        && !matches!(url.scheme(), "http" | "https")
    {
        return Some("only http and https URLs are fetched");
    }
    if err.is_connect() {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = cause {
            let text = e.to_string();
            // hyper-util wraps every resolver failure as "dns error"; glibc's getaddrinfo says
            // "failed to lookup address information: …" (no such name, or no DNS server).
            if text.starts_with("dns error") || text.contains("failed to lookup address") {
                return Some("the host name cannot be resolved (DNS)");
            }
            cause = e.source();
        }
    }
    None
}

/// The first `limit` bytes of `response`'s body (fewer if it ends or breaks first): what an
/// error message may quote, without reading a body of any size.
pub async fn read_prefix(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(limit - out.len());
                out.extend_from_slice(&chunk[..take]);
            }
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_make_the_port_explicit() {
        assert_eq!(
            origin("https://ll.thespacedevs.com/2.0.0/launch/").as_deref(),
            Some("https://ll.thespacedevs.com:443")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/x?y").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_ne!(origin("http://h/"), origin("https://h/"));
        assert_eq!(origin("file:///etc/passwd"), None);
        assert_eq!(origin("not a url"), None);
    }

    /// Answers every lookup as glibc's resolver does for a name that does not exist, so the
    /// test needs no DNS server.
    struct NoSuchName;

    impl reqwest::dns::Resolve for NoSuchName {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            Box::pin(async {
                Err(Box::new(std::io::Error::other(
                    "failed to lookup address information: Name or service not known",
                ))
                    as Box<dyn std::error::Error + Send + Sync>)
            })
        }
    }

    #[tokio::test]
    async fn unknown_hosts_and_file_urls_are_permanent() {
        let c = builder()
            .dns_resolver(std::sync::Arc::new(NoSuchName))
            .build()
            .unwrap();
        let e = c
            .get("http://no-such-host.invalid/")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            permanent_failure(&e),
            Some("the host name cannot be resolved (DNS)"),
            "{e:?}"
        );
        let e = client().get("file:///etc/passwd").send().await.unwrap_err();
        assert!(permanent_failure(&e).is_some(), "{e:?}");
        // A refused connection may heal (a server restarting).
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let e = client()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(permanent_failure(&e), None, "{e:?}");
    }
}
