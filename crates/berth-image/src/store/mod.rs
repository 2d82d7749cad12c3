//! The local image store on a data root.
//!
//! ```text
//! <root>/content/            blobs (manifests, configs, layers): a ContentStore
//! <root>/images/index.json   which manifests are images, and their names (see names.rs)
//! ```
//!
//! Vocabulary, as Docker uses it:
//! - an *image* is a manifest (or an index, resolved to the host's manifest) recorded here;
//! - its *id* is the digest of its config;
//! - a *name* is a full reference: a tag (`docker.io/library/busybox:latest`) or a repo
//!   digest (`docker.io/library/busybox@sha256:…`) for images pulled by digest;
//! - an image with no names is *dangling* (`<none>:<none>`), left when a tag moves.

mod commit;
mod names;
mod remove;
mod resolve;

pub use remove::{PruneReport, Removed};

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageConfiguration, ImageManifest};

use crate::content::{ContentError, ContentStore};
use crate::digest::Digest;
use crate::manifest::{self, ConfigError, Manifest, ManifestError, Platform};
use crate::reference::Reference;
use names::{Names, NamesFile};

/// The largest manifest or index read.
pub const MANIFEST_LIMIT: u64 = 4 << 20;
/// The largest config read.
pub const CONFIG_LIMIT: u64 = 32 << 20;

/// Errors of the image store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be read or written.
    #[error("{what} `{path}`")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The names file is not valid JSON.
    #[error("image names file `{path}` is corrupt (rebuild it with `ImageStore::rebuild`)")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The content store failed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// A stored manifest is not valid.
    #[error("manifest `{digest}`")]
    Manifest {
        /// Its digest.
        digest: Digest,
        /// The cause.
        #[source]
        source: ManifestError,
    },
    /// A stored config is not valid.
    #[error("image config `{digest}`")]
    Config {
        /// Its digest.
        digest: Digest,
        /// The cause.
        #[source]
        source: ConfigError,
    },
    /// No image has this name or id.
    #[error("no such image: `{0}`")]
    NotFound(String),
    /// An id prefix matches several images.
    #[error("image id prefix `{0}` is ambiguous: it matches several images")]
    Ambiguous(String),
    /// An index has no manifest for this host.
    #[error("image `{digest}` has no manifest for platform {platform}")]
    NoMatchingPlatform {
        /// The index.
        digest: Digest,
        /// The platform looked for.
        platform: Platform,
    },
    /// A reference and a digest disagree.
    #[error("reference `{reference}` pins digest `{pinned}`, not `{digest}`")]
    DigestMismatch {
        /// The reference.
        reference: String,
        /// Its digest.
        pinned: Digest,
        /// The digest it was to name.
        digest: Digest,
    },
    /// The operation needs `force`.
    #[error("conflict: unable to delete `{id}` (must be forced): {reason}")]
    Conflict {
        /// The image id.
        id: Digest,
        /// Why.
        reason: String,
    },
    /// A layer given to `commit_image` is not in the content store.
    #[error("layer blob `{0}` is not in the content store")]
    MissingBlob(Digest),
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An image, read from the store.
#[derive(Debug, Clone)]
pub struct Image {
    /// The digest the image is recorded (and named) by: its manifest's, or its index's.
    pub digest: Digest,
    /// The digest of `manifest` (differs from `digest` when that is an index).
    pub manifest_digest: Digest,
    /// The image manifest (for an index, the host platform's).
    pub manifest: ImageManifest,
    /// The config's digest: the image id.
    pub config_digest: Digest,
    /// The config.
    pub config: ImageConfiguration,
    /// The layers, base first.
    pub layers: Vec<Descriptor>,
}

impl Image {
    /// The image id (the config digest).
    pub fn id(&self) -> &Digest {
        &self.config_digest
    }
}

/// A line of `berth images`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSummary {
    /// The image id (config digest).
    pub id: Digest,
    /// The digest the image is recorded by (manifest or index).
    pub manifest_digest: Digest,
    /// Tags.
    pub references: Vec<Reference>,
    /// `name@digest` names.
    pub repo_digests: Vec<Reference>,
    /// The config's `created`, if set.
    pub created: Option<String>,
    /// The sum of the layer blobs' sizes.
    pub size: u64,
}

/// The image store; cheap to clone.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
    content: ContentStore,
    names: NamesFile,
}

impl ImageStore {
    /// Opens (creating if needed) the store under the data root `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let content = ContentStore::open(root.join("content"))?;
        let names = NamesFile::open(root.join("images"))?;
        Ok(Self {
            root,
            content,
            names,
        })
    }

    /// The data root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The content store holding the blobs.
    pub fn content(&self) -> &ContentStore {
        &self.content
    }

    /// Points `reference` at the image `digest` (a manifest or index in the content store),
    /// recording it as an image. A tag that pointed elsewhere moves; the image it left keeps
    /// its other names or becomes dangling.
    pub fn tag(&self, reference: &Reference, digest: &Digest) -> Result<()> {
        if let Some(pinned) = reference.digest() {
            if pinned != digest {
                return Err(StoreError::DigestMismatch {
                    reference: reference.to_string(),
                    pinned: pinned.clone(),
                    digest: digest.clone(),
                });
            }
        }
        // Refuse to name what is not a readable manifest.
        self.read_manifest(digest)?;
        let key = name_key(reference);
        self.names.update(|names| {
            names.images.insert(digest.clone());
            names.names.insert(key, digest.clone());
            Ok(())
        })
    }

    /// Records `digest` as an image without naming it (e.g. a `load` of an untagged image).
    pub fn add_image(&self, digest: &Digest) -> Result<()> {
        self.read_manifest(digest)?;
        self.names.update(|names| {
            names.images.insert(digest.clone());
            Ok(())
        })
    }

    /// Removes the name `reference`; the image stays (dangling if it was its last name).
    pub fn untag(&self, reference: &Reference) -> Result<Digest> {
        let key = name_key(reference);
        self.names.update(|names| {
            names
                .names
                .remove(&key)
                .ok_or_else(|| StoreError::NotFound(reference.familiar()))
        })
    }

    /// Reads a stored manifest or index.
    pub fn read_manifest(&self, digest: &Digest) -> Result<Manifest> {
        let bytes = self.content.read_blob(digest, MANIFEST_LIMIT)?;
        manifest::parse(&bytes, None).map_err(|source| StoreError::Manifest {
            digest: digest.clone(),
            source,
        })
    }

    /// The image recorded (or stored) as `digest`; an index is resolved to the host's
    /// platform.
    pub fn image(&self, digest: &Digest) -> Result<Image> {
        self.image_for(digest, &Platform::host())
    }

    /// The image `digest` for `platform` (which matters only when `digest` is an index).
    pub fn image_for(&self, digest: &Digest, platform: &Platform) -> Result<Image> {
        let (manifest_digest, manifest) = match self.read_manifest(digest)? {
            Manifest::Image(m) => (digest.clone(), m),
            Manifest::Index(index) => {
                let no_match = || StoreError::NoMatchingPlatform {
                    digest: digest.clone(),
                    platform: platform.clone(),
                };
                let chosen = manifest::select(&index, platform).ok_or_else(no_match)?;
                let child = manifest::descriptor_digest(&chosen).map_err(|source| {
                    StoreError::Manifest {
                        digest: digest.clone(),
                        source,
                    }
                })?;
                match self.read_manifest(&child)? {
                    Manifest::Image(m) => (child, m),
                    Manifest::Index(_) => return Err(no_match()),
                }
            }
        };
        let config_digest = manifest::descriptor_digest(manifest.config()).map_err(|source| {
            StoreError::Manifest {
                digest: manifest_digest.clone(),
                source,
            }
        })?;
        let config_bytes = self.content.read_blob(&config_digest, CONFIG_LIMIT)?;
        let config =
            manifest::parse_config(&config_bytes).map_err(|source| StoreError::Config {
                digest: config_digest.clone(),
                source,
            })?;
        Ok(Image {
            digest: digest.clone(),
            manifest_digest,
            layers: manifest.layers().clone(),
            manifest,
            config_digest,
            config,
        })
    }

    /// The image named by `text` (see [`resolve`](Self::resolve)).
    pub fn get(&self, text: &str) -> Result<Image> {
        self.image(&self.resolve(text)?)
    }

    /// Every image, with its names, sorted by id.
    pub fn list(&self) -> Result<Vec<ImageSummary>> {
        let names = self.names.read()?;
        let mut out = Vec::new();
        for digest in &names.images {
            let image = self.image(digest)?;
            let (mut references, mut repo_digests) = (Vec::new(), Vec::new());
            for name in names.names_of(digest) {
                if let Ok(r) = Reference::parse(&name) {
                    if r.digest().is_some() {
                        repo_digests.push(r);
                    } else {
                        references.push(r);
                    }
                }
            }
            out.push(ImageSummary {
                id: image.config_digest.clone(),
                manifest_digest: digest.clone(),
                references,
                repo_digests,
                created: image.config.created().clone(),
                size: image.layers.iter().map(|l| l.size()).sum(),
            });
        }
        out.sort_by(|a, b| {
            a.id.cmp(&b.id)
                .then(a.manifest_digest.cmp(&b.manifest_digest))
        });
        Ok(out)
    }

    /// The names (full references) pointing at image `digest`.
    pub fn names_of(&self, digest: &Digest) -> Result<Vec<Reference>> {
        Ok(self
            .names
            .read()?
            .names_of(digest)
            .iter()
            .filter_map(|n| Reference::parse(n).ok())
            .collect())
    }

    /// Rebuilds the image records after the names file was lost or damaged: every manifest
    /// or index in the content store whose blobs are all present becomes an image again,
    /// untagged (names cannot be recovered from content; tag them again). Manifests that
    /// an index lists are left to their index. Returns the images found.
    pub fn rebuild(&self) -> Result<Vec<Digest>> {
        let mut images = BTreeSet::new();
        let mut children = BTreeSet::new();
        for digest in self.content.list()? {
            if self
                .content
                .size(&digest)
                .is_none_or(|s| s > MANIFEST_LIMIT)
            {
                continue;
            }
            let Ok(found) = self.read_manifest(&digest) else {
                continue;
            };
            if let Manifest::Index(index) = &found {
                children.extend(
                    index
                        .manifests()
                        .iter()
                        .filter_map(|d| manifest::descriptor_digest(d).ok()),
                );
            }
            if self.image(&digest).is_ok_and(|image| {
                image
                    .layers
                    .iter()
                    .filter_map(|l| manifest::descriptor_digest(l).ok())
                    .all(|l| self.content.contains(&l))
            }) {
                images.insert(digest);
            }
        }
        let images: Vec<Digest> = images.difference(&children).cloned().collect();
        let _lock = self.names.lock()?;
        let mut names = match self.names.read() {
            Ok(names) => names,
            Err(StoreError::Corrupt { .. }) => Names::default(),
            Err(e) => return Err(e),
        };
        names.images.retain(|d| self.content.contains(d));
        names.images.extend(images.iter().cloned());
        let present = names.images.clone();
        names.names.retain(|_, d| present.contains(d));
        self.names.write(&names)?;
        Ok(images)
    }
}

/// The key of a name in the names file: `registry/repo:tag`, or `registry/repo@digest`
/// when the reference has a digest (a tag beside a digest is dropped, as docker does).
fn name_key(reference: &Reference) -> String {
    match reference.digest() {
        Some(digest) => format!("{}@{digest}", reference.name()),
        None => reference.to_string(),
    }
}
