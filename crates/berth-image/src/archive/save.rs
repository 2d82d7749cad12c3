//! `save`: images out of the store into a docker-save tar or an OCI image layout.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use oci_spec::image::{Descriptor, ImageIndexBuilder, MediaType, SCHEMA_VERSION};
use serde::Serialize;

use super::{blob_path, io_err, ArchiveError, Format, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME};
use crate::digest::Digest;
use crate::manifest::{self, ManifestError};
use crate::reference::Reference;
use crate::store::{Image, ImageStore, MANIFEST_LIMIT};

/// One entry of docker's `manifest.json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DockerManifestEntry {
    pub config: String,
    pub repo_tags: Vec<String>,
    pub layers: Vec<String>,
}

/// Where the files of a layout go.
trait Sink {
    fn dir(&mut self, path: &str) -> Result<(), ArchiveError>;
    fn file(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<(), ArchiveError>;
}

struct TarSink<W: Write>(tar::Builder<W>);

impl<W: Write> Sink for TarSink<W> {
    fn dir(&mut self, path: &str) -> Result<(), ArchiveError> {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        header.set_mtime(0);
        self.0
            .append_data(&mut header, format!("{path}/"), io::empty())
            .map_err(io_err(format!("write `{path}/` to the archive")))
    }

    fn file(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<(), ArchiveError> {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(size);
        // Fixed times: saving the same images twice gives the same bytes.
        header.set_mtime(0);
        self.0
            .append_data(&mut header, path, data)
            .map_err(io_err(format!("write `{path}` to the archive")))
    }
}

struct DirSink<'a>(&'a Path);

impl Sink for DirSink<'_> {
    fn dir(&mut self, path: &str) -> Result<(), ArchiveError> {
        let dir = self.0.join(path);
        fs::create_dir_all(&dir).map_err(io_err(format!("create `{}`", dir.display())))
    }

    fn file(&mut self, path: &str, _size: u64, data: &mut dyn Read) -> Result<(), ArchiveError> {
        let target = self.0.join(path);
        let mut file =
            fs::File::create(&target).map_err(io_err(format!("create `{}`", target.display())))?;
        io::copy(data, &mut file).map_err(io_err(format!("write `{}`", target.display())))?;
        Ok(())
    }
}

/// Writes the images `refs` name (references or ids) to `out` as a tar in `format`.
/// Names given as references are kept in the archive; images given by id are saved
/// untagged, as docker does.
pub fn save<W: Write>(
    store: &ImageStore,
    refs: &[&str],
    out: W,
    format: Format,
) -> Result<W, ArchiveError> {
    let mut sink = TarSink(tar::Builder::new(out));
    write_layout(store, refs, &mut sink, format)?;
    sink.0
        .into_inner()
        .map_err(io_err("finish the archive".to_string()))
}

/// Writes the images `refs` name as an OCI image layout in directory `dir` (created if
/// needed; blobs already there are kept).
pub fn save_oci_dir(store: &ImageStore, refs: &[&str], dir: &Path) -> Result<(), ArchiveError> {
    write_layout(store, refs, &mut DirSink(dir), Format::OciLayout)
}

fn write_layout(
    store: &ImageStore,
    refs: &[&str],
    sink: &mut dyn Sink,
    format: Format,
) -> Result<(), ArchiveError> {
    // Each image once, with the names it is saved under, in the order given.
    let mut order: Vec<Digest> = Vec::new();
    let mut names: HashMap<Digest, Vec<Reference>> = HashMap::new();
    for text in refs {
        let (digest, name) = store.resolve_name(text)?;
        if !names.contains_key(&digest) {
            order.push(digest.clone());
        }
        let entry = names.entry(digest).or_default();
        if let Some(name) = name.filter(|n| n.tag().is_some() && !entry.contains(n)) {
            entry.push(name);
        }
    }
    let mut blobs = BTreeSet::new();
    let mut images: Vec<Image> = Vec::new();
    for digest in &order {
        blobs.extend(store.blobs_of(digest));
        images.push(store.image(digest)?);
    }

    sink.dir("blobs")?;
    sink.dir("blobs/sha256")?;
    for blob in &blobs {
        let size = store.content().size(blob).unwrap_or(0);
        let mut file = store.content().open_blob(blob)?;
        sink.file(&blob_path(blob), size, &mut file)?;
    }
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    sink.file("oci-layout", layout.len() as u64, &mut &layout[..])?;

    let mut descriptors = Vec::new();
    for image in &images {
        let bytes = store.content().read_blob(&image.digest, MANIFEST_LIMIT)?;
        let media_type = store
            .read_manifest(&image.digest)
            .map(|m| m.media_type())
            .unwrap_or_else(|_| manifest::OCI_MANIFEST.to_string());
        let oci =
            manifest::oci_digest(&image.digest).map_err(|source| manifest_err(image, source))?;
        let base = Descriptor::new(
            MediaType::from(media_type.as_str()),
            bytes.len() as u64,
            oci,
        );
        let image_names = names.get(&image.digest).cloned().unwrap_or_default();
        if image_names.is_empty() {
            descriptors.push(base.clone());
        }
        for name in image_names {
            let mut d = base.clone();
            let mut annotations =
                HashMap::from([(ANNOTATION_IMAGE_NAME.to_string(), name.to_string())]);
            if let Some(tag) = name.tag() {
                annotations.insert(ANNOTATION_REF_NAME.to_string(), tag.to_string());
            }
            d.set_annotations(Some(annotations));
            descriptors.push(d);
        }
    }
    let index = ImageIndexBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageIndex)
        .manifests(descriptors)
        .build()
        .map_err(|e| ArchiveError::Invalid {
            member: "index.json".into(),
            problem: e.to_string(),
        })?;
    write_json(sink, "index.json", &index)?;

    if format == Format::DockerArchive {
        let mut entries = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for image in &images {
            let tags = names.get(&image.digest).cloned().unwrap_or_default();
            let mut layers = Vec::new();
            for layer in &image.layers {
                let d = manifest::descriptor_digest(layer).map_err(|s| manifest_err(image, s))?;
                layers.push(blob_path(&d));
            }
            for tag in &tags {
                let familiar = tag.familiar();
                let (repo, tag_name) = familiar.rsplit_once(':').unwrap_or((&familiar, "latest"));
                if let Some(top) = image.layers.last() {
                    if let Ok(d) = manifest::descriptor_digest(top) {
                        repositories
                            .entry(repo.to_string())
                            .or_default()
                            .insert(tag_name.to_string(), d.hex().to_string());
                    }
                }
            }
            entries.push(DockerManifestEntry {
                config: blob_path(&image.config_digest),
                repo_tags: tags.iter().map(Reference::familiar).collect(),
                layers,
            });
        }
        write_json(sink, "manifest.json", &entries)?;
        write_json(sink, "repositories", &repositories)?;
    }
    Ok(())
}

fn manifest_err(image: &Image, source: ManifestError) -> ArchiveError {
    ArchiveError::Manifest {
        member: blob_path(&image.manifest_digest),
        source,
    }
}

fn write_json<T: Serialize>(
    sink: &mut dyn Sink,
    path: &str,
    value: &T,
) -> Result<(), ArchiveError> {
    let bytes = manifest::canonical_json(value).map_err(|e| ArchiveError::Invalid {
        member: path.to_string(),
        problem: e.to_string(),
    })?;
    sink.file(path, bytes.len() as u64, &mut &bytes[..])
}
