//! [`RegistryClient`]: one registry's transport and its manifest and tag operations.
//!
//! Blob operations are in `blobs.rs`; the request loop (auth, retries, errors) in
//! `transport.rs`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};

use super::auth::{repository_scope, AuthState};
use super::credentials::Credentials;
use super::error::{DistributionError, Result};
use super::transport::{NotFound, Request};
use crate::digest::{Digest, Hasher};
use crate::reference::DOCKER_HUB;

/// The largest manifest the client accepts (docker's limit).
pub const MAX_MANIFEST_SIZE: usize = 4 << 20;

/// How a [`RegistryClient`] connects.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Use plain HTTP even though the host is not loopback (docker's `--insecure-registry`).
    pub insecure: bool,
    /// Credentials for basic auth and the token flow; anonymous when `None`.
    pub credentials: Option<Credentials>,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Extra trusted CA certificates (PEM), besides the built-in roots.
    pub ca_certs: Vec<Vec<u8>>,
    /// Attempts per idempotent request (connection errors, 5xx and 429 are retried).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled each time.
    pub retry_delay: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            insecure: false,
            credentials: None,
            user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")).to_string(),
            ca_certs: Vec::new(),
            max_attempts: 4,
            retry_delay: Duration::from_millis(200),
        }
    }
}

/// A manifest as fetched: its bytes, media type and verified digest.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    /// The exact bytes (the digest is of these).
    pub bytes: Bytes,
    /// The media type (`Content-Type`, else the document's `mediaType`).
    pub media_type: String,
    /// The digest of `bytes`.
    pub digest: Digest,
}

/// What a manifest HEAD tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    /// `Docker-Content-Digest`, when the registry sent it.
    pub digest: Option<Digest>,
    /// `Content-Type`.
    pub media_type: Option<String>,
    /// `Content-Length`.
    pub size: Option<u64>,
}

/// A client for one registry. Cheap to clone; clones share tokens.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) registry: String,
    pub(super) base: Url,
    pub(super) http: reqwest::Client,
    pub(super) credentials: Option<Credentials>,
    pub(super) auth: AuthState,
    pub(super) max_attempts: u32,
    pub(super) retry_delay: Duration,
}

/// Installs ring as rustls' crypto provider (once per process; another already installed
/// provider is fine).
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The base URL of `registry`'s API: `https://host`, or `http://host` for hosts marked
/// insecure and for loopback hosts (unless `tls` says a CA was configured for it, as
/// docker's `certs.d/<host>/ca.crt` does); Docker Hub's API is at `registry-1.docker.io`.
pub fn api_base(registry: &str, insecure: bool, tls: bool) -> String {
    let host = match registry {
        DOCKER_HUB | "index.docker.io" => "registry-1.docker.io",
        other => other,
    };
    let scheme = if insecure || (is_loopback(host) && !tls) {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{host}")
}

/// Whether `host` (with optional port) is `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if host.matches(':').count() > 1 {
        host // a bare IPv6 address
    } else {
        host.split(':').next().unwrap_or(host)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl RegistryClient {
    /// A client for `registry` (`host[:port]`, e.g. `localhost:5000`, `docker.io`).
    pub fn new(registry: &str, options: ClientOptions) -> Result<Self> {
        install_crypto_provider();
        let protocol = |reason: String| DistributionError::Protocol {
            registry: registry.to_string(),
            what: "client set-up".to_string(),
            reason,
        };
        let tls = !options.ca_certs.is_empty();
        let base = Url::parse(&api_base(registry, options.insecure, tls))
            .map_err(|e| protocol(format!("`{registry}` is not a valid host: {e}")))?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(options.user_agent.clone())
            .connect_timeout(Duration::from_secs(30));
        for pem in &options.ca_certs {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| protocol(format!("bad CA certificate: {e}")))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| protocol(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                registry: registry.to_string(),
                base,
                http,
                credentials: options.credentials,
                auth: AuthState::default(),
                max_attempts: options.max_attempts.max(1),
                retry_delay: options.retry_delay,
            }),
        })
    }

    /// The registry host this client talks to.
    pub fn registry(&self) -> &str {
        &self.inner.registry
    }

    /// The API base URL (`http(s)://host`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    pub(super) fn url(&self, path: &str) -> Result<Url> {
        self.inner
            .base
            .join(path)
            .map_err(|e| DistributionError::Protocol {
                registry: self.inner.registry.clone(),
                what: path.to_string(),
                reason: e.to_string(),
            })
    }

    /// `GET /v2/`: whether the registry speaks the API (anonymous access allowed or not).
    pub async fn ping(&self) -> Result<()> {
        let url = self.url("/v2/")?;
        let response = self
            .send(Request::new(Method::GET, url, "").no_auth())
            .await?;
        match response.status() {
            s if s.is_success() || s == StatusCode::UNAUTHORIZED => Ok(()),
            _ => Err(self.error(response, NotFound::Other).await),
        }
    }

    /// `GET /v2/` through the auth flow: succeeds only if the registry accepts this
    /// client's credentials (or needs none).
    pub async fn check_login(&self) -> Result<()> {
        let url = self.url("/v2/")?;
        let checked = match self.send(Request::new(Method::GET, url, "")).await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(self.error(response, NotFound::Other).await),
            Err(err) => Err(err),
        };
        // Here (and only here) a refusal means the credentials just given are wrong.
        checked.map_err(|err| match err {
            DistributionError::Unauthorized { registry } => {
                DistributionError::LoginRefused { registry }
            }
            other => other,
        })
    }

    /// Fetches a manifest by tag or digest, verifying its digest: against `reference` when
    /// it is a digest, else against `Docker-Content-Digest` when the registry sends it.
    pub async fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
        accept: &[&str],
    ) -> Result<FetchedManifest> {
        let url = self.url(&format!("/v2/{repository}/manifests/{reference}"))?;
        let request = Request::new(Method::GET, url, &repository_scope(repository, false))
            .header(ACCEPT, accept.join(", "));
        let response = self.send(request).await?;
        if !response.status().is_success() {
            let name = format!("{}/{repository}:{reference}", self.inner.registry);
            let name = name.replace(":sha256:", "@sha256:");
            return Err(self.error(response, NotFound::Manifest(name)).await);
        }
        let header_digest = header_str(&response, "docker-content-digest");
        let content_type = header_str(&response, CONTENT_TYPE.as_str())
            .map(|t| t.split(';').next().unwrap_or("").trim().to_string())
            .filter(|t| !t.is_empty() && t != "application/json" && t != "text/plain");
        let what = format!("manifest {}/{repository}:{reference}", self.inner.registry);
        let bytes = self
            .read_limited(response, MAX_MANIFEST_SIZE, &what)
            .await?;
        let mut hasher = Hasher::new();
        hasher.update(&bytes);
        let digest = hasher.finish();
        let expected = match reference.parse::<Digest>() {
            Ok(d) => Some(d),
            Err(_) => header_digest.and_then(|h| h.parse::<Digest>().ok()),
        };
        if let Some(expected) = expected.filter(|e| *e != digest) {
            return Err(DistributionError::DigestMismatch {
                what,
                expected,
                actual: digest,
            });
        }
        let media_type = match content_type {
            Some(t) => t,
            None => serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("mediaType")?.as_str().map(str::to_string))
                .unwrap_or_default(),
        };
        Ok(FetchedManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// `HEAD` of a manifest; `None` when the registry does not have it.
    pub async fn head_manifest(
        &self,
        repository: &str,
        reference: &str,
        accept: &[&str],
    ) -> Result<Option<ManifestHead>> {
        let url = self.url(&format!("/v2/{repository}/manifests/{reference}"))?;
        let request = Request::new(Method::HEAD, url, &repository_scope(repository, false))
            .header(ACCEPT, accept.join(", "));
        let response = self.send(request).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(self.error(response, NotFound::Other).await);
        }
        Ok(Some(ManifestHead {
            digest: header_str(&response, "docker-content-digest").and_then(|d| d.parse().ok()),
            media_type: header_str(&response, CONTENT_TYPE.as_str()),
            size: header_str(&response, "content-length").and_then(|s| s.parse().ok()),
        }))
    }

    /// Uploads a manifest under `reference` (a tag or its digest); returns its digest.
    pub async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        bytes: Bytes,
        media_type: &str,
    ) -> Result<Digest> {
        let digest = Digest::sha256_of(&bytes);
        let url = self.url(&format!("/v2/{repository}/manifests/{reference}"))?;
        // PUT of the same bytes is idempotent: it may be retried.
        let request = Request::new(Method::PUT, url, &repository_scope(repository, true))
            .header(CONTENT_TYPE, media_type.to_string())
            .body(bytes)
            .idempotent();
        let response = self.send(request).await?;
        if !response.status().is_success() {
            return Err(self.error(response, NotFound::Other).await);
        }
        if let Some(sent) = header_str(&response, "docker-content-digest") {
            if sent.parse::<Digest>().is_ok_and(|d| d != digest) {
                return Err(DistributionError::Protocol {
                    registry: self.inner.registry.clone(),
                    what: format!("manifest PUT {repository}:{reference}"),
                    reason: format!("registry computed digest `{sent}`, expected `{digest}`"),
                });
            }
        }
        Ok(digest)
    }

    /// All tags of `repository`, following `Link` pagination.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>> {
        self.tags_paged(repository, 1000).await
    }

    /// All tags of `repository`, asking for `page_size` per request.
    pub async fn tags_paged(&self, repository: &str, page_size: usize) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct TagList {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut tags = Vec::new();
        let mut next = Some(self.url(&format!("/v2/{repository}/tags/list?n={page_size}"))?);
        // Bounded: a registry that links pages in a loop must not hang the client.
        for _ in 0..10_000 {
            let Some(url) = next.take() else { break };
            let request = Request::new(
                Method::GET,
                url.clone(),
                &repository_scope(repository, false),
            );
            let response = self.send(request).await?;
            if !response.status().is_success() {
                let name = format!("{}/{repository}", self.inner.registry);
                return Err(self.error(response, NotFound::Repository(name)).await);
            }
            next = header_str(&response, "link")
                .and_then(|link| next_link(&link))
                .and_then(|l| url.join(&l).ok());
            let what = format!("tags of {repository}");
            let body = self.read_limited(response, 16 << 20, &what).await?;
            let page: TagList =
                serde_json::from_slice(&body).map_err(|e| DistributionError::Protocol {
                    registry: self.inner.registry.clone(),
                    what,
                    reason: e.to_string(),
                })?;
            tags.extend(page.tags.unwrap_or_default());
        }
        Ok(tags)
    }
}

/// A header as a string, if present and ASCII.
pub(super) fn header_str(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::to_string)
}

/// The target of `rel="next"` in a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next")
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_rule() {
        assert_eq!(
            api_base("localhost:5000", false, false),
            "http://localhost:5000"
        );
        assert_eq!(
            api_base("127.0.0.5:80", false, false),
            "http://127.0.0.5:80"
        );
        assert_eq!(api_base("[::1]:5000", false, false), "http://[::1]:5000");
        assert_eq!(
            api_base("registry.example:5000", false, false),
            "https://registry.example:5000"
        );
        assert_eq!(
            api_base("registry.example", true, false),
            "http://registry.example"
        );
        assert_eq!(
            api_base("10.0.0.1:5000", false, false),
            "https://10.0.0.1:5000"
        );
        assert_eq!(
            api_base("docker.io", false, false),
            "https://registry-1.docker.io"
        );
        assert_eq!(
            api_base("127.0.0.1:5000", false, true),
            "https://127.0.0.1:5000"
        );
        assert_eq!(
            api_base("registry.example", true, true),
            "http://registry.example"
        );
        assert!(!is_loopback("localhost.evil.example"));
        assert!(is_loopback("::1"));
    }

    #[test]
    fn link_header() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }
}
