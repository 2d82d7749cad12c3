//! The request loop: authentication, retries with backoff, and error mapping.
//!
//! Every request carries the scope it needs. A cached token (or basic credentials) is sent
//! up front; a `401` is answered once (see [`super::auth`]) and the request retried.
//! Idempotent requests are retried on connection errors, `5xx` and `429`, with a doubling
//! delay and a bounded number of attempts; other requests are never replayed here (an
//! upload restarts as a whole, see `blobs.rs`).

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{HeaderName, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode, Url};

use super::auth::Challenge;
use super::client::RegistryClient;
use super::error::{DistributionError, RegistryErrorItem, Result};
use crate::digest::Digest;

/// A body that can be made again for a retry.
pub(super) type BodyFactory = Box<dyn Fn() -> std::io::Result<reqwest::Body> + Send + Sync>;

/// One request, described so that it can be sent again.
pub(super) struct Request {
    method: Method,
    url: Url,
    scope: String,
    headers: Vec<(HeaderName, String)>,
    body: Option<Bytes>,
    stream: Option<BodyFactory>,
    idempotent: bool,
    auth: bool,
}

/// What a `404` means for the request that got it.
pub(super) enum NotFound {
    /// A manifest (the name to print).
    Manifest(String),
    /// A blob.
    Blob {
        /// The repository.
        repository: String,
        /// The digest.
        digest: Digest,
    },
    /// A repository (the name to print).
    Repository(String),
    /// Nothing special.
    Other,
}

impl Request {
    pub(super) fn new(method: Method, url: Url, scope: &str) -> Self {
        let idempotent = method == Method::GET || method == Method::HEAD;
        Self {
            method,
            url,
            scope: scope.to_string(),
            headers: Vec::new(),
            body: None,
            stream: None,
            idempotent,
            auth: true,
        }
    }

    pub(super) fn header(mut self, name: HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub(super) fn body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    pub(super) fn stream(mut self, factory: BodyFactory) -> Self {
        self.stream = Some(factory);
        self
    }

    pub(super) fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Sends no credentials and does not answer challenges (`/v2/` ping).
    pub(super) fn no_auth(mut self) -> Self {
        self.auth = false;
        self
    }
}

impl RegistryClient {
    /// Sends `request` with auth and retries; returns the final response whatever its
    /// status (except `401` after auth was tried, which is [`DistributionError::Unauthorized`]).
    pub(super) async fn send(&self, request: Request) -> Result<Response> {
        let inner = &self.inner;
        let mut attempt = 0;
        let mut answered = false;
        loop {
            attempt += 1;
            let mut builder = inner
                .http
                .request(request.method.clone(), request.url.clone());
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            } else if let Some(factory) = &request.stream {
                let body = factory().map_err(|source| DistributionError::Io {
                    what: "open upload source",
                    path: request.url.path().into(),
                    source,
                })?;
                builder = builder.body(body);
            }
            if request.auth {
                if let Some(value) = inner
                    .auth
                    .header_for(&request.scope, inner.credentials.as_ref())
                {
                    builder = builder.header(AUTHORIZATION, value);
                }
            }
            let retryable = request.idempotent && attempt < inner.max_attempts;
            let response = match builder.send().await {
                Ok(response) => response,
                Err(_) if retryable => {
                    self.backoff(attempt, None).await;
                    continue;
                }
                Err(source) => {
                    return Err(DistributionError::Connect {
                        registry: inner.registry.clone(),
                        url: request.url.to_string(),
                        source,
                    })
                }
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && request.auth {
                if answered {
                    return Err(self.unauthorized());
                }
                answered = true;
                let challenge = response
                    .headers()
                    .get_all(WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(Challenge::parse);
                let Some(challenge) = challenge else {
                    return Err(self.unauthorized());
                };
                let can_retry = inner
                    .auth
                    .answer(
                        &inner.http,
                        &inner.registry,
                        challenge,
                        &request.scope,
                        inner.credentials.as_ref(),
                    )
                    .await?;
                if !can_retry {
                    return Err(self.unauthorized());
                }
                // Answering a challenge is not a failed attempt.
                attempt -= 1;
                continue;
            }
            let transient = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
            if transient && retryable {
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    .map(Duration::from_secs);
                self.backoff(attempt, retry_after).await;
                continue;
            }
            return Ok(response);
        }
    }

    async fn backoff(&self, attempt: u32, retry_after: Option<Duration>) {
        let doubling = self.inner.retry_delay * 2u32.saturating_pow(attempt.saturating_sub(1));
        let delay = retry_after.unwrap_or(doubling).min(Duration::from_secs(10));
        tokio::time::sleep(delay).await;
    }

    pub(super) fn unauthorized(&self) -> DistributionError {
        DistributionError::Unauthorized {
            registry: self.inner.registry.clone(),
        }
    }

    /// The error for a failed response, with the registry's JSON errors.
    pub(super) async fn error(&self, response: Response, not_found: NotFound) -> DistributionError {
        let status = response.status();
        let path = response.url().path().to_string();
        let body = self
            .read_limited(response, 64 << 10, "error body")
            .await
            .unwrap_or_default();
        let errors = parse_errors(&body);
        let registry = self.inner.registry.clone();
        match (status, not_found) {
            (StatusCode::UNAUTHORIZED, _) => self.unauthorized(),
            (StatusCode::FORBIDDEN, _) => DistributionError::Denied {
                repository: repository_of(&path),
                registry,
                errors,
            },
            (StatusCode::NOT_FOUND, NotFound::Manifest(reference)) => {
                DistributionError::ManifestUnknown { reference }
            }
            (StatusCode::NOT_FOUND, NotFound::Blob { repository, digest }) => {
                DistributionError::BlobUnknown { repository, digest }
            }
            (StatusCode::NOT_FOUND, NotFound::Repository(name)) if errors.is_empty() => {
                DistributionError::Registry {
                    registry,
                    path: format!("{path} (repository {name} not found)"),
                    status: status.as_u16(),
                    errors,
                }
            }
            _ => DistributionError::Registry {
                registry,
                path,
                status: status.as_u16(),
                errors,
            },
        }
    }

    /// Reads a whole body, refusing more than `limit` bytes.
    pub(super) async fn read_limited(
        &self,
        response: Response,
        limit: usize,
        what: &str,
    ) -> Result<Bytes> {
        let protocol = |reason: String| DistributionError::Protocol {
            registry: self.inner.registry.clone(),
            what: what.to_string(),
            reason,
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(protocol(format!("body larger than {limit} bytes")));
        }
        let url = response.url().to_string();
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|source| DistributionError::Connect {
                registry: self.inner.registry.clone(),
                url: url.clone(),
                source,
            })?;
            if body.len() + chunk.len() > limit {
                return Err(protocol(format!("body larger than {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }
}

/// `{"errors":[…]}` from an error body; empty when the body is not that.
fn parse_errors(body: &[u8]) -> Vec<RegistryErrorItem> {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<RegistryErrorItem>,
    }
    serde_json::from_slice::<Errors>(body)
        .map(|e| e.errors)
        .unwrap_or_default()
}

/// `/v2/<repo>/manifests/…` → `<repo>`.
fn repository_of(path: &str) -> String {
    let rest = path.strip_prefix("/v2/").unwrap_or(path);
    for marker in ["/manifests/", "/blobs/", "/tags/"] {
        if let Some((repo, _)) = rest.split_once(marker) {
            return repo.to_string();
        }
    }
    rest.trim_end_matches('/').to_string()
}
