//! Pull: reference → manifest → config → layers (in parallel) into the content store.
//!
//! Each layer is streamed into a resumable content-store ingest named
//! `<registry>/<repo>@<digest>`, so an interrupted pull resumes with a `Range` request.
//! Blobs already in the store are skipped ("Already exists"). When a [`LayerUnpacker`] is
//! given, a fresh download is unpacked in the same pass: the bytes are written to the
//! ingest (hashed there) and fed to the unpacker on a blocking thread; a layer whose
//! download was resumed, or which was already stored, is unpacked from the stored blob.
//! Unpacked layers are committed base first only after every layer verified, so a failed
//! pull leaves no half-image behind.

use std::io::{Read, Write};
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::client::RegistryClient;
use super::error::{DistributionError, Result};
use super::origins::BlobOrigins;
use super::progress::{NoProgress, ProgressEvent, ProgressSink, ProgressState};
use super::tee::{Tee, UnpackResult};
use super::wire::{diff_ids, Descriptor, Document};
use crate::content::{ContentError, ContentStore};
use crate::digest::Digest;
use crate::manifest::{self, chain_ids, Platform};
use crate::reference::Reference;

/// Errors of plug-ins (unpacker, image recorder).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One layer of the image being pulled, as the unpacker sees it.
#[derive(Debug, Clone)]
pub struct LayerInfo {
    /// Position in the stack, 0 = base.
    pub index: usize,
    /// The layer's descriptor (compressed digest, media type, size).
    pub descriptor: Descriptor,
    /// The uncompressed digest from the config (`rootfs.diff_ids`).
    pub diff_id: Option<Digest>,
    /// The chain id of the stack up to and including this layer.
    pub chain_id: Option<Digest>,
    /// The chain id of the stack below (`None` for the base).
    pub parent_chain_id: Option<Digest>,
}

/// Unpacks layers into snapshots. Called concurrently for different layers (from blocking
/// threads); `commit` is called base first once every layer has been unpacked, `abort`
/// for layers unpacked but not committed when the pull fails.
pub trait LayerUnpacker: Send + Sync {
    /// Whether the layer's snapshot already exists (then nothing is unpacked).
    fn is_unpacked(&self, layer: &LayerInfo) -> bool;
    /// Unpacks the compressed layer bytes read from `reader` into a pending snapshot,
    /// verifying the diffID. The reader fails if the download breaks.
    fn unpack(&self, layer: &LayerInfo, reader: &mut (dyn Read + Send)) -> Result<(), BoxError>;
    /// Makes the pending snapshot of `layer` visible.
    fn commit(&self, layer: &LayerInfo) -> Result<(), BoxError>;
    /// Removes the pending snapshot of `layer`.
    fn abort(&self, layer: &LayerInfo);
}

/// Records a pulled image under its name (the image store's part).
pub trait ImageRecorder: Send + Sync {
    /// Tags `reference` to the pulled image.
    fn record(&self, reference: &Reference, image: &PulledImage) -> Result<(), BoxError>;
}

/// The image store records pulled images under their reference.
impl ImageRecorder for crate::store::ImageStore {
    fn record(&self, reference: &Reference, image: &PulledImage) -> Result<(), BoxError> {
        self.tag(reference, &image.digest)?;
        // Docker's RepoDigests: the repository pinned to what the tag resolved to.
        if reference.digest().is_none() {
            self.tag(&reference.with_digest(image.digest.clone()), &image.digest)?;
        }
        Ok(())
    }
}

/// How to pull.
#[derive(Clone)]
pub struct PullOptions {
    /// The platform to select from an index.
    pub platform: Platform,
    /// Refuse a single-platform image whose config names another platform (docker does
    /// when `--platform` is given explicitly).
    pub strict_platform: bool,
    /// Layers downloaded at once (docker uses 3).
    pub concurrency: usize,
    /// Where progress goes.
    pub progress: Arc<dyn ProgressSink>,
    /// Unpacks layers in the same pass, if set.
    pub unpacker: Option<Arc<dyn LayerUnpacker>>,
    /// Tags the image at the end, if set.
    pub recorder: Option<Arc<dyn ImageRecorder>>,
    /// Notes which repository each blob came from (for cross-repository mounts on push).
    pub origins: Option<BlobOrigins>,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            // The default (docker's is the host's, the same on this project's hosts).
            platform: Platform::new("linux", "amd64", None),
            strict_platform: false,
            concurrency: 3,
            progress: Arc::new(NoProgress),
            unpacker: None,
            recorder: None,
            origins: None,
        }
    }
}

impl std::fmt::Debug for PullOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullOptions")
            .field("platform", &self.platform)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// What a pull stored.
#[derive(Debug, Clone)]
pub struct PulledImage {
    /// The reference pulled.
    pub reference: Reference,
    /// The digest the reference resolved to (an index's, when it was one): docker's
    /// repo digest.
    pub digest: Digest,
    /// The platform manifest's digest.
    pub manifest_digest: Digest,
    /// The platform manifest's media type.
    pub media_type: String,
    /// The config blob (its digest is the image id).
    pub config: Descriptor,
    /// The layers, base first.
    pub layers: Vec<Descriptor>,
}

/// Refuses an image whose config names another OS or architecture than `wanted`.
fn check_platform(name: &str, config: &[u8], wanted: &Platform) -> Result<()> {
    let config = manifest::parse_config(config).map_err(|e| DistributionError::BadManifest {
        reference: name.to_string(),
        reason: e.to_string(),
    })?;
    let os = config.os().to_string();
    let architecture = config.architecture().to_string();
    if os != wanted.os || architecture != wanted.architecture {
        return Err(DistributionError::NoMatchingPlatform {
            reference: format!("{name} (which is {os}/{architecture})"),
            platform: wanted.to_string(),
        });
    }
    Ok(())
}

/// Pulls `reference` through `client` into `content`.
pub async fn pull(
    client: &RegistryClient,
    content: &ContentStore,
    reference: &Reference,
    options: &PullOptions,
) -> Result<PulledImage> {
    let repo = reference.repository();
    let name = reference.to_string();
    let fetched = client
        .get_manifest(
            repo,
            &reference.manifest_reference(),
            super::ACCEPT_MANIFESTS,
        )
        .await?;
    let top_digest = fetched.digest.clone();
    let mut document = Document::parse(&name, &fetched.bytes, &fetched.media_type)?;
    let mut manifest = fetched;
    if let Document::Index { index, .. } = &document {
        let chosen = manifest::select(index, &options.platform).ok_or_else(|| {
            DistributionError::NoMatchingPlatform {
                reference: name.clone(),
                platform: options.platform.to_string(),
            }
        })?;
        content.put(&manifest.bytes)?;
        let digest = manifest::descriptor_digest(&chosen)
            .map_err(|e| DistributionError::BadManifest {
                reference: name.clone(),
                reason: e.to_string(),
            })?
            .to_string();
        manifest = client
            .get_manifest(repo, &digest, super::ACCEPT_MANIFESTS)
            .await?;
        document = Document::parse(&name, &manifest.bytes, &manifest.media_type)?;
    }
    let Document::Manifest {
        media_type,
        config,
        layers,
    } = document
    else {
        return Err(DistributionError::BadManifest {
            reference: name,
            reason: "an index that points to another index".into(),
        });
    };

    let ctx = Arc::new(Ctx {
        client: client.clone(),
        content: content.clone(),
        repo: repo.to_string(),
        progress: options.progress.clone(),
        origins: options.origins.clone(),
    });
    ctx.fetch(&config, None, true).await?;
    let config_bytes = content.read_blob(&config.digest, 64 << 20)?;
    if options.strict_platform {
        check_platform(&name, &config_bytes, &options.platform)?;
    }
    let diffs = diff_ids(&name, &config_bytes)?;
    if !diffs.is_empty() && diffs.len() != layers.len() {
        return Err(DistributionError::BadManifest {
            reference: name,
            reason: format!(
                "{} layers but {} diff_ids in the config",
                layers.len(),
                diffs.len()
            ),
        });
    }
    let chains = chain_ids(&diffs);
    let infos: Vec<LayerInfo> = layers
        .iter()
        .enumerate()
        .map(|(index, descriptor)| LayerInfo {
            index,
            descriptor: descriptor.clone(),
            diff_id: diffs.get(index).cloned(),
            chain_id: chains.get(index).cloned(),
            parent_chain_id: index.checked_sub(1).and_then(|i| chains.get(i).cloned()),
        })
        .collect();
    pull_layers(&ctx, &infos, options).await?;

    content.put(&manifest.bytes)?;
    let image = PulledImage {
        reference: reference.clone(),
        digest: top_digest,
        manifest_digest: manifest.digest,
        media_type,
        config,
        layers,
    };
    if let Some(recorder) = &options.recorder {
        recorder
            .record(reference, &image)
            .map_err(|source| DistributionError::Store {
                reference: reference.to_string(),
                source,
            })?;
    }
    Ok(image)
}

/// Downloads (and unpacks) the layers, `concurrency` at a time; commits unpacked layers
/// base first when all succeeded, aborts them otherwise.
async fn pull_layers(ctx: &Arc<Ctx>, layers: &[LayerInfo], options: &PullOptions) -> Result<()> {
    let semaphore = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for layer in layers {
        ctx.event(&layer.descriptor.digest, ProgressState::Waiting);
        let ctx = ctx.clone();
        let layer = layer.clone();
        let unpacker = options.unpacker.clone();
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let result = ctx.pull_layer(&layer, unpacker).await;
            (layer.index, result)
        });
    }
    let mut unpacked = vec![false; layers.len()];
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, Ok(did_unpack))) => unpacked[index] = did_unpack,
            Ok((_, Err(e))) => {
                first_error.get_or_insert(e);
                tasks.abort_all();
            }
            Err(e) if e.is_cancelled() => {}
            Err(e) => {
                first_error.get_or_insert(DistributionError::Task(e));
                tasks.abort_all();
            }
        }
    }
    let Some(unpacker) = &options.unpacker else {
        return first_error.map_or(Ok(()), Err);
    };
    let pending = layers.iter().filter(|l| unpacked[l.index]);
    if let Some(error) = first_error {
        for layer in pending {
            unpacker.abort(layer);
        }
        return Err(error);
    }
    for layer in pending {
        unpacker
            .commit(layer)
            .map_err(|source| DistributionError::Unpack {
                digest: layer.descriptor.digest.clone(),
                source,
            })?;
    }
    Ok(())
}

/// What every transfer task shares.
struct Ctx {
    client: RegistryClient,
    content: ContentStore,
    repo: String,
    progress: Arc<dyn ProgressSink>,
    origins: Option<BlobOrigins>,
}

/// Download attempts per blob (each resumes where the last stopped).
const MAX_DOWNLOAD_ATTEMPTS: u32 = 5;

impl Ctx {
    fn event(&self, digest: &Digest, state: ProgressState) {
        self.progress.event(&ProgressEvent::new(digest, state));
    }

    /// One layer; returns whether it left a pending (uncommitted) snapshot.
    async fn pull_layer(
        &self,
        layer: &LayerInfo,
        unpacker: Option<Arc<dyn LayerUnpacker>>,
    ) -> Result<bool> {
        let digest = &layer.descriptor.digest;
        let needs_unpack = unpacker.as_ref().is_some_and(|u| !u.is_unpacked(layer));
        if self.content.contains(digest) {
            if let Some(origins) = &self.origins {
                origins.record(digest, self.client.registry(), &self.repo);
            }
            if !needs_unpack {
                self.event(digest, ProgressState::AlreadyExists);
                return Ok(false);
            }
        } else {
            let tee = match &unpacker {
                Some(unpacker) if needs_unpack => Some(Tee::start(unpacker.clone(), layer)),
                _ => None,
            };
            let teed = self.fetch(&layer.descriptor, tee, false).await?;
            if let Some(result) = teed {
                self.event(digest, ProgressState::Extracting);
                result.await?.map_err(|source| DistributionError::Unpack {
                    digest: digest.clone(),
                    source,
                })?;
                self.event(digest, ProgressState::PullComplete);
                return Ok(true);
            }
            if !needs_unpack {
                self.event(digest, ProgressState::PullComplete);
                return Ok(false);
            }
        }
        // Unpack from the stored blob (resumed download, or stored but not unpacked).
        let Some(unpacker) = unpacker else {
            return Ok(false);
        };
        self.event(digest, ProgressState::Extracting);
        let mut file = self.content.open_blob(digest)?;
        let info = layer.clone();
        tokio::task::spawn_blocking(move || unpacker.unpack(&info, &mut file))
            .await?
            .map_err(|source| DistributionError::Unpack {
                digest: digest.clone(),
                source,
            })?;
        self.event(digest, ProgressState::PullComplete);
        Ok(true)
    }

    /// Downloads `desc` into the content store (resuming an earlier ingest), verifying its
    /// digest and size. With a tee, a download that started at byte 0 and finished without
    /// interruption is also fed to the unpacker: the unpack result is returned.
    /// `quiet` fetches report no progress (docker shows none for the config).
    async fn fetch(
        &self,
        desc: &Descriptor,
        mut tee: Option<Tee>,
        quiet: bool,
    ) -> Result<Option<UnpackResult>> {
        let digest = &desc.digest;
        let report = |state| {
            if !quiet {
                self.event(digest, state)
            }
        };
        if self.content.contains(digest) {
            return Ok(None);
        }
        let ingest = format!("{}/{}@{}", self.client.registry(), self.repo, digest);
        let mut writer = loop {
            match self.content.writer(&ingest) {
                Ok(writer) => break writer,
                Err(ContentError::Locked(_)) => {
                    // Another pull is fetching this blob: wait for it to finish or fail.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    if self.content.contains(digest) {
                        if let Some(t) = tee.take() {
                            t.abort().await;
                        }
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        };
        if writer.offset() > desc.size {
            writer.discard();
            writer = self.content.writer(&ingest)?;
        }
        if writer.offset() > 0 {
            // The unpacker would miss the beginning: it reads the stored blob later.
            if let Some(t) = tee.take() {
                t.abort().await;
            }
        }
        let mut last_report = 0u64;
        let step = (desc.size / 100).max(256 << 10);
        let mut failures = 0;
        while writer.offset() < desc.size {
            let offset = writer.offset();
            let interrupted = match self.client.fetch_blob(&self.repo, digest, offset).await {
                Ok(mut download) => {
                    if download.offset != offset {
                        // The registry ignored the range: start over.
                        writer.discard();
                        writer = self.content.writer(&ingest)?;
                    }
                    let mut interrupted = None;
                    while let Some(chunk) = download.stream.next().await {
                        let chunk = match chunk {
                            Ok(chunk) => chunk,
                            Err(e) => {
                                interrupted = Some(e);
                                break;
                            }
                        };
                        if writer.offset() + chunk.len() as u64 > desc.size {
                            writer.discard();
                            return Err(DistributionError::Protocol {
                                registry: self.client.registry().to_string(),
                                what: format!("blob GET {digest}"),
                                reason: format!("more than the {} bytes announced", desc.size),
                            });
                        }
                        writer
                            .write_all(&chunk)
                            .map_err(|source| ContentError::Io {
                                what: "write blob",
                                path: self.content.root().to_path_buf(),
                                source,
                            })?;
                        if let Some(t) = &mut tee {
                            t.send(chunk).await;
                        }
                        let current = writer.offset();
                        if current - last_report >= step || current == desc.size {
                            last_report = current;
                            report(ProgressState::Downloading {
                                current,
                                total: desc.size,
                            });
                        }
                    }
                    if interrupted.is_none() && writer.offset() < desc.size {
                        // The body ended early (connection closed cleanly).
                        interrupted = Some(DistributionError::Protocol {
                            registry: self.client.registry().to_string(),
                            what: format!("blob GET {digest}"),
                            reason: format!(
                                "body ended at {} of {} bytes",
                                writer.offset(),
                                desc.size
                            ),
                        });
                    }
                    interrupted
                }
                Err(e) if e.is_transient() => Some(e),
                Err(e) => return Err(e),
            };
            if let Some(error) = interrupted {
                // Bytes received so far stay in the ingest; the unpacker's stream is broken.
                if let Some(t) = tee.take() {
                    t.abort().await;
                }
                failures += 1;
                if failures >= MAX_DOWNLOAD_ATTEMPTS {
                    return Err(error);
                }
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(failures)))
                    .await;
            }
        }
        report(ProgressState::Verifying);
        let committed = writer.commit(Some(digest), Some(desc.size));
        let committed = match committed {
            Ok(d) => Ok(d),
            Err(e) => {
                if let Some(t) = tee.take() {
                    t.abort().await;
                }
                Err(e)
            }
        };
        committed.map_err(|e| match e {
            ContentError::DigestMismatch { expected, actual } => {
                DistributionError::DigestMismatch {
                    what: format!("blob from {}/{}", self.client.registry(), self.repo),
                    expected,
                    actual,
                }
            }
            other => other.into(),
        })?;
        if let Some(origins) = &self.origins {
            origins.record(digest, self.client.registry(), &self.repo);
        }
        report(ProgressState::DownloadComplete);
        Ok(tee.map(Tee::finish))
    }
}
