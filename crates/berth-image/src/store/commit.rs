//! Making a new image from a config and layers already in the content store (for
//! `import`, `commit` and the builder).

use oci_spec::image::{
    Descriptor, ImageConfiguration, ImageManifestBuilder, MediaType, SCHEMA_VERSION,
};

use super::{ImageStore, Result, StoreError};
use crate::digest::Digest;
use crate::manifest::{self, ManifestError};
use crate::reference::Reference;

impl ImageStore {
    /// Writes the config and an OCI manifest for `layers` (each with its diff id, in stack
    /// order; the blobs must be in the content store), records the image, and tags it if
    /// `reference` is given. The config's `rootfs` is set from the diff ids; JSON is
    /// written with sorted keys, so the same inputs give the same digests.
    pub fn commit_image(
        &self,
        mut config: ImageConfiguration,
        layers: Vec<(Descriptor, Digest)>,
        reference: Option<&Reference>,
    ) -> Result<super::Image> {
        let invalid = |digest: &Digest, source: ManifestError| StoreError::Manifest {
            digest: digest.clone(),
            source,
        };
        for (layer, _) in &layers {
            let digest = manifest::descriptor_digest(layer)
                .map_err(|e| invalid(&Digest::sha256_of(b""), e))?;
            if self.content.size(&digest) != Some(layer.size()) {
                return Err(StoreError::MissingBlob(digest));
            }
        }
        config.rootfs_mut().set_typ("layers".to_string());
        config
            .rootfs_mut()
            .set_diff_ids(layers.iter().map(|(_, d)| d.to_string()).collect());
        let value = serde_json::to_value(&config).map_err(|source| StoreError::Config {
            digest: Digest::sha256_of(b""),
            source: manifest::ConfigError::Json(source),
        })?;
        self.commit_image_json(value, layers, reference)
    }

    /// [`ImageStore::commit_image`] for a config given as JSON, so that fields the OCI
    /// types do not know (Docker's `Healthcheck`, `OnBuild`, `Shell`...) are kept: the
    /// builder's configs have them. `rootfs` is set from the layers' diff ids.
    pub fn commit_image_json(
        &self,
        mut config: serde_json::Value,
        layers: Vec<(Descriptor, Digest)>,
        reference: Option<&Reference>,
    ) -> Result<super::Image> {
        let invalid = |digest: &Digest, source: ManifestError| StoreError::Manifest {
            digest: digest.clone(),
            source,
        };
        for (layer, _) in &layers {
            let digest = manifest::descriptor_digest(layer)
                .map_err(|e| invalid(&Digest::sha256_of(b""), e))?;
            if self.content.size(&digest) != Some(layer.size()) {
                return Err(StoreError::MissingBlob(digest));
            }
        }
        if let Some(object) = config.as_object_mut() {
            object.insert(
                "rootfs".to_string(),
                serde_json::json!({
                    "type": "layers",
                    "diff_ids": layers.iter().map(|(_, d)| d.to_string()).collect::<Vec<_>>(),
                }),
            );
        }
        let config_bytes =
            manifest::canonical_json(&config).map_err(|source| StoreError::Config {
                digest: Digest::sha256_of(b""),
                source: manifest::ConfigError::Json(source),
            })?;
        let config_digest = self.content.put(&config_bytes)?;
        let config_descriptor = Descriptor::new(
            MediaType::ImageConfig,
            config_bytes.len() as u64,
            manifest::oci_digest(&config_digest).map_err(|e| invalid(&config_digest, e))?,
        );
        let image_manifest = ImageManifestBuilder::default()
            .schema_version(SCHEMA_VERSION)
            .media_type(MediaType::ImageManifest)
            .config(config_descriptor)
            .layers(layers.into_iter().map(|(d, _)| d).collect::<Vec<_>>())
            .build()
            .map_err(|e| {
                invalid(
                    &config_digest,
                    ManifestError::Invalid {
                        field: "manifest".into(),
                        problem: e.to_string(),
                    },
                )
            })?;
        let manifest_bytes = manifest::canonical_json(&image_manifest).map_err(|source| {
            invalid(
                &config_digest,
                ManifestError::Json {
                    kind: "image manifest",
                    source,
                },
            )
        })?;
        let digest = self.content.put(&manifest_bytes)?;
        match reference {
            Some(reference) => self.tag(reference, &digest)?,
            None => self.add_image(&digest)?,
        }
        self.image(&digest)
    }
}
