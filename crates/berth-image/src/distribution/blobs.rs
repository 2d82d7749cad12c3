//! Blob operations: existence, ranged download, upload sessions and cross-repository mount.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{Method, Response, StatusCode, Url};

use super::auth::repository_scope;
use super::client::{header_str, RegistryClient};
use super::error::{DistributionError, Result};
use super::transport::{NotFound, Request};
use crate::digest::Digest;

/// Blobs up to this size are uploaded in one `PUT`; larger ones are streamed by `PATCH`.
pub const MONOLITHIC_LIMIT: u64 = 8 << 20;

/// A blob download in progress.
pub struct BlobDownload {
    /// Where the stream starts: the requested offset, or 0 when the registry ignored the
    /// range and sends the whole blob.
    pub offset: u64,
    /// The blob's total size, when the registry said.
    pub total: Option<u64>,
    /// The bytes.
    pub stream: Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>,
}

impl std::fmt::Debug for BlobDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobDownload")
            .field("offset", &self.offset)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

/// What to upload: bytes in memory, or a file (re-opened on each attempt).
#[derive(Debug, Clone)]
pub enum BlobSource {
    /// In memory.
    Bytes(Bytes),
    /// A file, e.g. a blob of the content store.
    File(PathBuf),
}

/// Called with the number of bytes sent so far.
pub type UploadProgress = Arc<dyn Fn(u64) + Send + Sync>;

/// The outcome of a mount attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountOutcome {
    /// The registry linked the blob: nothing to upload.
    Mounted,
    /// The registry could not mount and opened an upload session at this URL instead.
    Session(Url),
}

impl RegistryClient {
    /// The size of `digest` in `repository`, or `None` when it is not there.
    pub async fn blob_exists(&self, repository: &str, digest: &Digest) -> Result<Option<u64>> {
        let url = self.url(&format!("/v2/{repository}/blobs/{digest}"))?;
        let request = Request::new(Method::HEAD, url, &repository_scope(repository, false));
        let response = self.send(request).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(
                header_str(&response, CONTENT_LENGTH.as_str())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
            )),
            _ => Err(self.error(response, NotFound::Other).await),
        }
    }

    /// Streams `digest` from `offset` on (a `Range` request when `offset > 0`). The bytes are
    /// not verified here: the caller hashes them into the content store, which checks.
    pub async fn fetch_blob(
        &self,
        repository: &str,
        digest: &Digest,
        offset: u64,
    ) -> Result<BlobDownload> {
        let url = self.url(&format!("/v2/{repository}/blobs/{digest}"))?;
        let mut request = Request::new(
            Method::GET,
            url.clone(),
            &repository_scope(repository, false),
        );
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
        }
        let response = self.send(request).await?;
        let status = response.status();
        if status == StatusCode::RANGE_NOT_SATISFIABLE && offset > 0 {
            // The partial ingest is not a prefix of this blob any more: start over.
            return Box::pin(self.fetch_blob(repository, digest, 0)).await;
        }
        if !status.is_success() {
            let not_found = NotFound::Blob {
                repository: repository.to_string(),
                digest: digest.clone(),
            };
            return Err(self.error(response, not_found).await);
        }
        let (start, total) = if status == StatusCode::PARTIAL_CONTENT {
            let range = header_str(&response, "content-range").unwrap_or_default();
            let (start, total) =
                parse_content_range(&range).ok_or_else(|| DistributionError::Protocol {
                    registry: self.registry().to_string(),
                    what: format!("blob GET {digest}"),
                    reason: format!("bad Content-Range `{range}`"),
                })?;
            if start != offset {
                return Err(DistributionError::Protocol {
                    registry: self.registry().to_string(),
                    what: format!("blob GET {digest}"),
                    reason: format!("asked for bytes from {offset}, got from {start}"),
                });
            }
            (start, total)
        } else {
            (0, response.content_length())
        };
        let registry = self.registry().to_string();
        let url = url.to_string();
        let stream = response
            .bytes_stream()
            .map_err(move |source| DistributionError::Connect {
                registry: registry.clone(),
                url: url.clone(),
                source,
            });
        Ok(BlobDownload {
            offset: start,
            total,
            stream: Box::pin(stream),
        })
    }

    /// Uploads a blob of `size` bytes that must hash to `digest`. Small blobs go in one
    /// `PUT`; larger ones in one streamed `PATCH` then a closing `PUT`. A failed attempt
    /// (connection lost, 5xx) restarts with a new session, a bounded number of times.
    pub async fn upload_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        source: BlobSource,
        progress: Option<UploadProgress>,
    ) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = async {
                let session = self.start_upload(repository).await?;
                self.upload_into(repository, session, digest, size, &source, progress.clone())
                    .await
            }
            .await;
            match result {
                Err(e) if attempt < self.inner.max_attempts && e.is_transient() => {
                    tokio::time::sleep(self.inner.retry_delay * attempt).await;
                }
                other => return other,
            }
        }
    }

    /// Tries to mount `digest` from `from_repository` into `repository`.
    pub async fn mount_blob(
        &self,
        repository: &str,
        digest: &Digest,
        from_repository: &str,
    ) -> Result<MountOutcome> {
        let mut url = self.url(&format!("/v2/{repository}/blobs/uploads/"))?;
        url.query_pairs_mut()
            .append_pair("mount", &digest.to_string())
            .append_pair("from", from_repository);
        let scope = format!(
            "{} {}",
            repository_scope(repository, true),
            repository_scope(from_repository, false)
        );
        let request = Request::new(Method::POST, url, &scope).body(Bytes::new());
        let response = self.send(request).await?;
        match response.status() {
            StatusCode::CREATED => Ok(MountOutcome::Mounted),
            StatusCode::ACCEPTED => Ok(MountOutcome::Session(self.location(&response)?)),
            _ => Err(self.error(response, NotFound::Other).await),
        }
    }

    /// Uploads into a session opened by [`RegistryClient::mount_blob`]; on a transient
    /// failure falls back to [`RegistryClient::upload_blob`] with fresh sessions.
    pub async fn upload_blob_into(
        &self,
        repository: &str,
        session: Url,
        digest: &Digest,
        size: u64,
        source: BlobSource,
        progress: Option<UploadProgress>,
    ) -> Result<()> {
        match self
            .upload_into(repository, session, digest, size, &source, progress.clone())
            .await
        {
            Err(e) if e.is_transient() => {
                self.upload_blob(repository, digest, size, source, progress)
                    .await
            }
            other => other,
        }
    }

    async fn start_upload(&self, repository: &str) -> Result<Url> {
        let url = self.url(&format!("/v2/{repository}/blobs/uploads/"))?;
        let request =
            Request::new(Method::POST, url, &repository_scope(repository, true)).body(Bytes::new());
        let response = self.send(request).await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(self.error(response, NotFound::Other).await);
        }
        self.location(&response)
    }

    async fn upload_into(
        &self,
        repository: &str,
        session: Url,
        digest: &Digest,
        size: u64,
        source: &BlobSource,
        progress: Option<UploadProgress>,
    ) -> Result<()> {
        let scope = repository_scope(repository, true);
        // Small blobs: the closing PUT carries the bytes. Large ones: one streamed PATCH,
        // then an empty closing PUT at the Location it returns.
        let (mut close_url, put_body) = match source {
            BlobSource::Bytes(bytes) if size <= MONOLITHIC_LIMIT => (session, bytes.clone()),
            _ => {
                let factory = body_factory(source.clone(), progress.clone());
                let patch = Request::new(Method::PATCH, session, &scope)
                    .header(CONTENT_TYPE, "application/octet-stream".into())
                    .stream(factory);
                let response = self.send(patch).await?;
                if response.status() != StatusCode::ACCEPTED {
                    return Err(self.error(response, NotFound::Other).await);
                }
                (self.location(&response)?, Bytes::new())
            }
        };
        close_url
            .query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let put = Request::new(Method::PUT, close_url, &scope)
            .header(CONTENT_TYPE, "application/octet-stream".into())
            .body(put_body);
        let response = self.send(put).await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.error(response, NotFound::Other).await);
        }
        if let Some(progress) = &progress {
            progress(size);
        }
        Ok(())
    }

    /// The `Location` of a response, resolved against the request URL (it may be relative).
    fn location(&self, response: &Response) -> Result<Url> {
        let location =
            header_str(response, LOCATION.as_str()).ok_or_else(|| DistributionError::Protocol {
                registry: self.registry().to_string(),
                what: format!("upload {}", response.url().path()),
                reason: "no Location header".into(),
            })?;
        response
            .url()
            .join(&location)
            .map_err(|e| DistributionError::Protocol {
                registry: self.registry().to_string(),
                what: format!("upload {}", response.url().path()),
                reason: format!("bad Location `{location}`: {e}"),
            })
    }
}

/// A body made anew for each attempt, reporting bytes as they are sent.
fn body_factory(
    source: BlobSource,
    progress: Option<UploadProgress>,
) -> super::transport::BodyFactory {
    Box::new(move || {
        let progress = progress.clone();
        let mut sent = 0u64;
        let count = move |chunk: &Bytes| {
            sent += chunk.len() as u64;
            if let Some(progress) = &progress {
                progress(sent);
            }
        };
        Ok(match &source {
            BlobSource::Bytes(bytes) => {
                let bytes = bytes.clone();
                let mut count = count;
                count(&bytes);
                reqwest::Body::from(bytes)
            }
            BlobSource::File(path) => {
                let file = tokio::fs::File::from_std(std::fs::File::open(path)?);
                let stream =
                    tokio_util::io::ReaderStream::with_capacity(file, 256 << 10).inspect_ok(count);
                reqwest::Body::wrap_stream(stream)
            }
        })
    })
}

/// `bytes <start>-<end>/<total|*>` → (start, total).
fn parse_content_range(header: &str) -> Option<(u64, Option<u64>)> {
    let rest = header.trim().strip_prefix("bytes")?.trim();
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range() {
        assert_eq!(
            parse_content_range("bytes 10-99/100"),
            Some((10, Some(100)))
        );
        assert_eq!(parse_content_range("bytes 10-99/*"), Some((10, None)));
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }
}
