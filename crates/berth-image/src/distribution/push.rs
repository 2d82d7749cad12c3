//! Push: blobs (config and layers, in parallel) then the manifest.
//!
//! For each blob: `HEAD` in the target repository (present: "Layer already exists"); else a
//! cross-repository mount from a repository of the same registry known to have it (the
//! [`BlobOrigins`] record, plus any the caller names); else an upload from the content
//! store. The manifest is `PUT` last, so the registry never sees a manifest whose blobs
//! are missing.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::blobs::{BlobSource, MountOutcome, UploadProgress};
use super::client::{RegistryClient, MAX_MANIFEST_SIZE};
use super::error::{DistributionError, Result};
use super::origins::BlobOrigins;
use super::progress::{NoProgress, ProgressEvent, ProgressSink, ProgressState};
use super::wire::{Descriptor, Document};
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::reference::Reference;

/// How to push.
#[derive(Clone)]
pub struct PushOptions {
    /// Blobs uploaded at once (docker uses 5).
    pub concurrency: usize,
    /// Where progress goes.
    pub progress: Arc<dyn ProgressSink>,
    /// Where blobs came from: mount sources, updated after the push.
    pub origins: Option<BlobOrigins>,
    /// More repositories of the target registry to try mounting from.
    pub mount_from: Vec<String>,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            progress: Arc::new(NoProgress),
            origins: None,
            mount_from: Vec::new(),
        }
    }
}

impl std::fmt::Debug for PushOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushOptions")
            .field("concurrency", &self.concurrency)
            .field("mount_from", &self.mount_from)
            .finish_non_exhaustive()
    }
}

/// Pushes the manifest `manifest` (in `content`, with all its blobs) to `target`; an index
/// is pushed with each of its manifests. Returns the digest of what `target` now names.
pub async fn push(
    client: &RegistryClient,
    content: &ContentStore,
    manifest: &Digest,
    target: &Reference,
    options: &PushOptions,
) -> Result<Digest> {
    let name = target.to_string();
    let bytes = Bytes::from(content.read_blob(manifest, MAX_MANIFEST_SIZE as u64)?);
    let document = Document::parse(&name, &bytes, "")?;
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        content: content.clone(),
        registry: target.registry().to_string(),
        repo: target.repository().to_string(),
        options: options.clone(),
    });
    let media_type = match document {
        Document::Manifest {
            media_type,
            config,
            layers,
        } => {
            ctx.push_blobs(config, layers).await?;
            media_type
        }
        Document::Index {
            media_type,
            manifests,
            ..
        } => {
            for child in manifests {
                let child_bytes = Bytes::from(
                    content
                        .read_blob(&child.digest, MAX_MANIFEST_SIZE as u64)
                        .map_err(|_| DistributionError::BadManifest {
                            reference: name.clone(),
                            reason: format!(
                                "manifest `{}` of the index is not stored locally (pulled for one platform only?)",
                                child.digest
                            ),
                        })?,
                );
                let Document::Manifest {
                    media_type,
                    config,
                    layers,
                } = Document::parse(&name, &child_bytes, "")?
                else {
                    return Err(DistributionError::BadManifest {
                        reference: name,
                        reason: "nested indexes are not supported".into(),
                    });
                };
                ctx.push_blobs(config, layers).await?;
                client
                    .put_manifest(
                        target.repository(),
                        &child.digest.to_string(),
                        child_bytes,
                        &media_type,
                    )
                    .await?;
            }
            media_type
        }
    };
    client
        .put_manifest(
            target.repository(),
            &target.manifest_reference(),
            bytes,
            &media_type,
        )
        .await
}

struct Ctx {
    client: RegistryClient,
    content: ContentStore,
    registry: String,
    repo: String,
    options: PushOptions,
}

impl Ctx {
    fn event(&self, digest: &Digest, state: ProgressState) {
        self.options
            .progress
            .event(&ProgressEvent::new(digest, state));
    }

    /// Layers and config, `concurrency` at a time.
    async fn push_blobs(
        self: &Arc<Self>,
        config: Descriptor,
        layers: Vec<Descriptor>,
    ) -> Result<()> {
        let semaphore = Arc::new(Semaphore::new(self.options.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        let mut seen = std::collections::HashSet::new();
        for blob in layers.into_iter().chain(std::iter::once(config)) {
            if !seen.insert(blob.digest.clone()) {
                continue;
            }
            self.event(&blob.digest, ProgressState::Preparing);
            let ctx = self.clone();
            let semaphore = semaphore.clone();
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                ctx.push_blob(&blob).await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let result = joined.map_err(DistributionError::Task).and_then(|r| r);
            if let Err(e) = result {
                tasks.abort_all();
                return Err(e);
            }
        }
        Ok(())
    }

    async fn push_blob(&self, blob: &Descriptor) -> Result<()> {
        let digest = &blob.digest;
        let client = &self.client;
        if client.blob_exists(&self.repo, digest).await?.is_some() {
            self.record(digest);
            self.event(digest, ProgressState::LayerAlreadyExists);
            return Ok(());
        }
        let path = self.content.blob_path(digest);
        let size = self
            .content
            .size(digest)
            .ok_or_else(|| crate::content::ContentError::NotFound(digest.clone()))?;
        let total = blob.size;
        let progress: UploadProgress = {
            let sink = self.options.progress.clone();
            let digest = digest.clone();
            Arc::new(move |current| {
                sink.event(&ProgressEvent::new(
                    &digest,
                    ProgressState::Pushing { current, total },
                ))
            })
        };
        let source = if size <= super::blobs::MONOLITHIC_LIMIT {
            BlobSource::Bytes(Bytes::from(self.content.read_blob(digest, size)?))
        } else {
            BlobSource::File(path)
        };
        for from in self.mount_sources(digest) {
            match client.mount_blob(&self.repo, digest, &from).await {
                Ok(MountOutcome::Mounted) => {
                    self.record(digest);
                    self.event(digest, ProgressState::Mounted { from });
                    return Ok(());
                }
                Ok(MountOutcome::Session(session)) => {
                    // Not mountable (no access, or gone): upload into the session opened.
                    client
                        .upload_blob_into(&self.repo, session, digest, size, source, Some(progress))
                        .await?;
                    self.record(digest);
                    self.event(digest, ProgressState::Pushed);
                    return Ok(());
                }
                // A refused mount is only a missed shortcut.
                Err(DistributionError::Denied { .. } | DistributionError::Registry { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        client
            .upload_blob(&self.repo, digest, size, source, Some(progress))
            .await?;
        self.record(digest);
        self.event(digest, ProgressState::Pushed);
        Ok(())
    }

    /// Other repositories of the target registry that should have `digest`.
    fn mount_sources(&self, digest: &Digest) -> Vec<String> {
        let mut sources: Vec<String> = self.options.mount_from.clone();
        if let Some(origins) = &self.options.origins {
            sources.extend(origins.repositories(digest, &self.registry));
        }
        let mut seen = std::collections::HashSet::new();
        sources.retain(|s| *s != self.repo && seen.insert(s.clone()));
        sources.truncate(3);
        sources
    }

    fn record(&self, digest: &Digest) {
        if let Some(origins) = &self.options.origins {
            origins.record(digest, &self.registry, &self.repo);
        }
    }
}
