//! `load`: images from a docker-save tar (old or new style) or an OCI image layout.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path};

use oci_spec::image::{Descriptor, ImageIndex, ImageManifestBuilder, MediaType, SCHEMA_VERSION};
use serde::Deserialize;

use super::verify::{sniff, verify_layers};
use super::{io_err, ArchiveError, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME};
use crate::content::ContentStore;
use crate::digest::Digest;
use crate::manifest::{self, Compression, Manifest};
use crate::reference::Reference;
use crate::store::{ImageStore, CONFIG_LIMIT};

/// The largest non-blob member read into memory (`manifest.json`, configs, ...).
const SMALL_FILE_LIMIT: u64 = 64 << 20;
/// How many symbolic links are followed from one member.
const MAX_LINK_HOPS: usize = 16;

/// An image `load` stored: one per name, or one for an untagged image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// The name it was tagged with, if the archive named it.
    pub reference: Option<Reference>,
    /// Its id (config digest).
    pub id: Digest,
    /// The digest it is recorded by (manifest or index).
    pub digest: Digest,
}

/// One entry of docker's `manifest.json`, as read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// What a member of the archive turned into.
#[derive(Debug, Clone)]
enum Member {
    /// Stored in the content store.
    Blob(Digest),
    /// Kept in memory.
    Bytes(Vec<u8>),
    /// A link to another member.
    Link(String),
}

/// Gathers the members of an archive, then makes images of them.
struct Collector<'a> {
    store: &'a ImageStore,
    members: HashMap<String, Member>,
}

/// Reads the images in the tar `input` (docker save of any docker version, or an OCI
/// layout tar) into `store`, verifying every blob's digest and every layer's diff id.
pub fn load(store: &ImageStore, input: impl Read) -> Result<Vec<LoadedImage>, ArchiveError> {
    let mut collector = Collector {
        store,
        members: HashMap::new(),
    };
    let mut archive = tar::Archive::new(input);
    let entries = archive
        .entries()
        .map_err(io_err("read the archive".to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(io_err("read the archive".to_string()))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = clean_path(&raw)? else {
            continue;
        };
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                collector.add_file(&path, size, &mut entry)?;
            }
            tar::EntryType::Symlink => {
                let target = link_target(&entry, &raw)?;
                let parent = Path::new(&path).parent().unwrap_or(Path::new(""));
                let resolved = resolve_symlink(parent, &target)
                    .ok_or_else(|| ArchiveError::UnsafePath(format!("{raw} -> {target}")))?;
                collector.members.insert(path, Member::Link(resolved));
            }
            tar::EntryType::Link => {
                let target = link_target(&entry, &raw)?;
                let resolved = clean_path(&target)?.ok_or(ArchiveError::UnsafePath(raw))?;
                collector.members.insert(path, Member::Link(resolved));
            }
            // Directories, and anything else an image archive has no use for.
            _ => {}
        }
    }
    collector.finish()
}

/// Reads the images of the OCI image layout directory `dir` into `store`.
pub fn load_oci_dir(store: &ImageStore, dir: &Path) -> Result<Vec<LoadedImage>, ArchiveError> {
    let mut collector = Collector {
        store,
        members: HashMap::new(),
    };
    for name in ["oci-layout", "index.json"] {
        let path = dir.join(name);
        if let Ok(mut file) = fs::File::open(&path) {
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            collector.add_file(name, size, &mut file)?;
        }
    }
    // Every blob is read and verified, as a tar of the layout would be.
    let blobs = dir.join("blobs");
    for algorithm in fs::read_dir(&blobs).map_err(io_err(format!("read `{}`", blobs.display())))? {
        let algorithm = algorithm.map_err(io_err(format!("read `{}`", blobs.display())))?;
        let alg_dir = algorithm.path();
        let listing =
            fs::read_dir(&alg_dir).map_err(io_err(format!("read `{}`", alg_dir.display())))?;
        for blob in listing.flatten() {
            let name = format!(
                "blobs/{}/{}",
                algorithm.file_name().to_string_lossy(),
                blob.file_name().to_string_lossy()
            );
            let path = blob.path();
            let mut file =
                fs::File::open(&path).map_err(io_err(format!("open `{}`", path.display())))?;
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            collector.add_file(&name, size, &mut file)?;
        }
    }
    collector.finish()
}

fn link_target<R: Read>(entry: &tar::Entry<'_, R>, raw: &str) -> Result<String, ArchiveError> {
    entry
        .link_name_bytes()
        .map(|t| String::from_utf8_lossy(&t).into_owned())
        .ok_or_else(|| ArchiveError::Invalid {
            member: raw.to_string(),
            problem: "link without a target".into(),
        })
}

/// The member name without `./`, or `None` for the archive root; refuses absolute names
/// and `..`.
fn clean_path(raw: &str) -> Result<Option<String>, ArchiveError> {
    let mut parts = Vec::new();
    for component in Path::new(raw).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(ArchiveError::UnsafePath(raw.to_string()))
            }
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// Where a relative symlink in directory `parent` points, inside the archive; `None`
/// if it is absolute or climbs out (docker writes `../<id>/layer.tar` for shared layers).
fn resolve_symlink(parent: &Path, target: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in parent.join(target).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

impl Collector<'_> {
    fn content(&self) -> &ContentStore {
        self.store.content()
    }

    fn add_file(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<(), ArchiveError> {
        let member = if let Some(digest) = blob_digest(path) {
            let digest = digest?;
            if self.content().size(&digest) == Some(size) {
                // Already stored (and verified when it was).
                io::copy(data, &mut io::sink()).map_err(io_err(format!("read `{path}`")))?;
            } else {
                self.store_blob(path, data, Some(&digest), Some(size))?;
            }
            Member::Blob(digest)
        } else if path.ends_with(".tar") || size > SMALL_FILE_LIMIT {
            // Old-style `<id>/layer.tar`: named by its content only once read.
            Member::Blob(self.store_blob(path, data, None, Some(size))?)
        } else {
            let mut bytes = Vec::with_capacity(size as usize);
            data.read_to_end(&mut bytes)
                .map_err(io_err(format!("read `{path}`")))?;
            Member::Bytes(bytes)
        };
        self.members.insert(path.to_string(), member);
        Ok(())
    }

    fn store_blob(
        &self,
        path: &str,
        data: &mut dyn Read,
        digest: Option<&Digest>,
        size: Option<u64>,
    ) -> Result<Digest, ArchiveError> {
        let mut writer = self
            .content()
            .writer(&format!("load-{}", uuid::Uuid::new_v4()))?;
        if let Err(e) = io::copy(data, &mut writer) {
            writer.discard();
            return Err(io_err(format!("read `{path}`"))(e));
        }
        Ok(writer.commit(digest, size)?)
    }

    /// The member at `path`, following links.
    fn get(&self, path: &str) -> Result<&Member, ArchiveError> {
        let mut current = path.to_string();
        for _ in 0..MAX_LINK_HOPS {
            match self.members.get(&current) {
                Some(Member::Link(target)) => current = target.clone(),
                Some(member) => return Ok(member),
                None => return Err(ArchiveError::Missing(current)),
            }
        }
        Err(ArchiveError::Invalid {
            member: path.to_string(),
            problem: "too many levels of links".into(),
        })
    }

    /// The member at `path` as a blob in the store (small members are stored now).
    fn blob(&self, path: &str) -> Result<Digest, ArchiveError> {
        match self.get(path)? {
            Member::Blob(d) => Ok(d.clone()),
            Member::Bytes(bytes) => Ok(self.content().put(bytes)?),
            Member::Link(_) => Err(ArchiveError::Missing(path.to_string())),
        }
    }

    fn bytes(&self, path: &str) -> Result<Vec<u8>, ArchiveError> {
        match self.get(path)? {
            Member::Bytes(bytes) => Ok(bytes.clone()),
            Member::Blob(d) => Ok(self.content().read_blob(d, CONFIG_LIMIT)?),
            Member::Link(_) => Err(ArchiveError::Missing(path.to_string())),
        }
    }

    fn finish(self) -> Result<Vec<LoadedImage>, ArchiveError> {
        // docker's manifest.json names images by config path; index.json by manifest.
        let docker_entries: Vec<ManifestEntry> = match self.get("manifest.json") {
            Ok(_) => serde_json::from_slice(&self.bytes("manifest.json")?).map_err(|e| {
                ArchiveError::Invalid {
                    member: "manifest.json".into(),
                    problem: e.to_string(),
                }
            })?,
            Err(_) => Vec::new(),
        };
        if self.get("index.json").is_ok() {
            self.finish_oci(&docker_entries)
        } else if !docker_entries.is_empty() {
            docker_entries
                .iter()
                .map(|entry| self.finish_docker(entry))
                .collect::<Result<Vec<_>, _>>()
                .map(|v| v.into_iter().flatten().collect())
        } else {
            Err(ArchiveError::NotAnArchive)
        }
    }

    fn finish_oci(
        &self,
        docker_entries: &[ManifestEntry],
    ) -> Result<Vec<LoadedImage>, ArchiveError> {
        let bytes = self.bytes("index.json")?;
        let index: ImageIndex = match manifest::parse(&bytes, Some(manifest::OCI_INDEX)) {
            Ok(Manifest::Index(index)) => index,
            Ok(Manifest::Image(_)) => {
                return Err(ArchiveError::Invalid {
                    member: "index.json".into(),
                    problem: "not an image index".into(),
                })
            }
            Err(source) => {
                return Err(ArchiveError::Manifest {
                    member: "index.json".into(),
                    source,
                })
            }
        };
        let mut loaded = Vec::new();
        for (i, descriptor) in index.manifests().iter().enumerate() {
            let member = format!("index.json: manifests[{i}]");
            let digest = manifest::descriptor_digest(descriptor).map_err(|source| {
                ArchiveError::Manifest {
                    member: member.clone(),
                    source,
                }
            })?;
            if !self.content().contains(&digest) {
                return Err(ArchiveError::Missing(super::blob_path(&digest)));
            }
            let image = self.store.image(&digest)?;
            verify_layers(self.content(), &image.layers, &image.config)?;
            let mut names = Vec::new();
            let annotations = descriptor.annotations().clone().unwrap_or_default();
            if let Some(name) = annotations.get(ANNOTATION_IMAGE_NAME) {
                names.push(name.clone());
            } else if let Some(name) = annotations.get(ANNOTATION_REF_NAME) {
                // A bare tag ("latest") names no repository; a full reference does.
                if name.contains('/') || name.contains(':') {
                    names.push(name.clone());
                }
            }
            if names.is_empty() {
                let config_path = super::blob_path(&image.config_digest);
                for entry in docker_entries.iter().filter(|e| e.config == config_path) {
                    names.extend(entry.repo_tags.clone().unwrap_or_default());
                }
            }
            loaded.extend(self.record(&digest, &image.config_digest, &names)?);
        }
        dedup(&mut loaded);
        Ok(loaded)
    }

    fn finish_docker(&self, entry: &ManifestEntry) -> Result<Vec<LoadedImage>, ArchiveError> {
        let config_digest = self.blob(&entry.config)?;
        let config_bytes = self.content().read_blob(&config_digest, CONFIG_LIMIT)?;
        let config =
            manifest::parse_config(&config_bytes).map_err(|source| ArchiveError::Config {
                member: entry.config.clone(),
                source,
            })?;
        let mut layers = Vec::new();
        for path in &entry.layers {
            let digest = self.blob(path)?;
            let compression = sniff(self.content(), &digest)?;
            let media_type = match compression {
                Compression::None => manifest::OCI_LAYER_TAR,
                Compression::Gzip => manifest::OCI_LAYER_TAR_GZIP,
                Compression::Zstd => manifest::OCI_LAYER_TAR_ZSTD,
            };
            let size = self.content().size(&digest).unwrap_or(0);
            let oci = manifest::oci_digest(&digest).map_err(|source| ArchiveError::Manifest {
                member: path.clone(),
                source,
            })?;
            layers.push(Descriptor::new(MediaType::from(media_type), size, oci));
        }
        verify_layers(self.content(), &layers, &config)?;
        let config_oci =
            manifest::oci_digest(&config_digest).map_err(|source| ArchiveError::Manifest {
                member: entry.config.clone(),
                source,
            })?;
        let built = ImageManifestBuilder::default()
            .schema_version(SCHEMA_VERSION)
            .media_type(MediaType::ImageManifest)
            .config(Descriptor::new(
                MediaType::ImageConfig,
                config_bytes.len() as u64,
                config_oci,
            ))
            .layers(layers)
            .build()
            .map_err(|e| ArchiveError::Invalid {
                member: "manifest.json".into(),
                problem: e.to_string(),
            })?;
        let bytes = manifest::canonical_json(&built).map_err(|e| ArchiveError::Invalid {
            member: "manifest.json".into(),
            problem: e.to_string(),
        })?;
        let digest = self.content().put(&bytes)?;
        self.record(
            &digest,
            &config_digest,
            entry.repo_tags.as_deref().unwrap_or_default(),
        )
    }

    /// Records image `digest` under `names` (or untagged).
    fn record(
        &self,
        digest: &Digest,
        id: &Digest,
        names: &[String],
    ) -> Result<Vec<LoadedImage>, ArchiveError> {
        if names.is_empty() {
            self.store.add_image(digest)?;
            return Ok(vec![LoadedImage {
                reference: None,
                id: id.clone(),
                digest: digest.clone(),
            }]);
        }
        let mut out = Vec::new();
        for name in names {
            let reference = Reference::parse(name).map_err(|source| ArchiveError::Reference {
                name: name.clone(),
                source,
            })?;
            self.store.tag(&reference, digest)?;
            out.push(LoadedImage {
                reference: Some(reference),
                id: id.clone(),
                digest: digest.clone(),
            });
        }
        Ok(out)
    }
}

fn dedup(loaded: &mut Vec<LoadedImage>) {
    let mut seen = Vec::new();
    loaded.retain(|l| {
        let key = (l.reference.clone(), l.digest.clone());
        let fresh = !seen.contains(&key);
        seen.push(key);
        fresh
    });
}

/// `blobs/<algorithm>/<hex>` names its digest.
fn blob_digest(path: &str) -> Option<Result<Digest, ArchiveError>> {
    let rest = path.strip_prefix("blobs/")?;
    let (algorithm, hex) = rest.split_once('/')?;
    Some(
        format!("{algorithm}:{hex}")
            .parse()
            .map_err(|_| ArchiveError::Invalid {
                member: path.to_string(),
                problem: "blob name is not a digest".into(),
            }),
    )
}
