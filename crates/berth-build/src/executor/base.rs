//! FROM an image: found in the store, or pulled (always with `--pull`) with the default
//! credential store, like `berth pull`; its layers, config and history become the stage's
//! start.

use std::sync::Arc;

use berth_image::distribution::pull::PullOptions;
use berth_image::distribution::unpack::SnapshotUnpacker;
use berth_image::distribution::{self, ClientOptions, CredentialStore, RegistryClient};
use berth_image::manifest::Platform;
use berth_image::reference::Reference;
use berth_image::store::Image;
use serde_json::Value;

use super::cache::LayerRef;
use super::{BuildError, Builder};

/// A base image, read from the store.
#[derive(Debug, Clone)]
pub(crate) struct BaseImage {
    pub id: String,
    pub layers: Vec<LayerRef>,
    /// The whole config document, Docker's fields included.
    pub raw: Value,
}

impl Builder {
    /// The image `name` for `platform`, pulled when missing or when `pull`.
    pub(crate) async fn base_image(
        &self,
        name: &str,
        platform: Option<&str>,
        pull: bool,
    ) -> Result<BaseImage, BuildError> {
        let wanted = match platform {
            Some(p) => Some(p.parse::<Platform>().map_err(|e| {
                BuildError::Image(format!("invalid platform `{p}` for {name}: {e}"))
            })?),
            None => None,
        };
        let found = if pull {
            None
        } else {
            self.local_image(name, wanted.as_ref().zip(platform))
        };
        let image = match found {
            Some(Ok(image)) => image,
            None => self.pull(name, platform).await?,
            // As dockerd: an image of another platform is pulled for the one asked; when
            // that fails, the mismatch is the error that explains the build's failure.
            Some(Err(mismatch)) => self.pull(name, platform).await.map_err(|_| mismatch)?,
        };
        let base = self.read_base(&image)?;
        // An imported or loaded image may have no snapshots yet.
        let images = self.images.clone();
        let snapshots = self.snapshots.clone();
        let layers = base.layers.clone();
        tokio::task::spawn_blocking(move || {
            super::layer::ensure_snapshots(&images, &snapshots, &layers)
        })
        .await
        .map_err(|e| BuildError::Other(e.to_string()))??;
        Ok(base)
    }

    /// The stored image `name`: None when missing, an error when it is not for `wanted`
    /// (parsed, and as the user wrote it).
    fn local_image(
        &self,
        name: &str,
        wanted: Option<(&Platform, &str)>,
    ) -> Option<Result<Image, BuildError>> {
        let digest = self.images.resolve(name).ok()?;
        let Some((wanted, asked)) = wanted else {
            return self.images.image(&digest).ok().map(Ok);
        };
        let image = self.images.image_for(&digest, wanted).ok()?;
        let actual = Platform::new(
            &image.config.os().to_string(),
            &image.config.architecture().to_string(),
            image.config.variant().as_deref(),
        );
        if actual.os == wanted.os && actual.architecture == wanted.architecture {
            Some(Ok(image))
        } else {
            Some(Err(BuildError::Image(format!(
                "image with reference {name} was found but does not match the specified platform: wanted {asked}, actual: {actual}"
            ))))
        }
    }

    async fn pull(&self, name: &str, platform: Option<&str>) -> Result<Image, BuildError> {
        let fail = |e: &dyn std::fmt::Display| {
            BuildError::Image(format!(
                "pull access denied for {name}, repository does not exist or may require 'docker login': {e}"
            ))
        };
        let reference = Reference::parse(name).map_err(|e| fail(&e))?;
        let platform = match platform {
            Some(p) => p.parse().map_err(|e| fail(&e))?,
            None => Platform::host(),
        };
        let credentials = CredentialStore::default_location()
            .get(reference.registry())
            .map_err(|e| fail(&e))?;
        let client = RegistryClient::new(
            reference.registry(),
            ClientOptions {
                credentials,
                ..ClientOptions::default()
            },
        )
        .map_err(|e| fail(&e))?;
        let options = PullOptions {
            platform,
            recorder: Some(Arc::new(self.images.clone())),
            unpacker: Some(Arc::new(SnapshotUnpacker::new(self.snapshots.clone()))),
            ..PullOptions::default()
        };
        let pulled = distribution::pull::pull(&client, self.images.content(), &reference, &options)
            .await
            .map_err(|e| fail(&e))?;
        self.images
            .image(&pulled.digest)
            .map_err(|e| BuildError::Image(format!("read the pulled image {name}: {e}")))
    }

    fn read_base(&self, image: &Image) -> Result<BaseImage, BuildError> {
        let bad = |e: &dyn std::fmt::Display| {
            BuildError::Image(format!("image {}: {e}", image.config_digest))
        };
        let bytes = self
            .images
            .content()
            .read_blob(&image.config_digest, 64 << 20)
            .map_err(|e| bad(&e))?;
        let raw: Value = serde_json::from_slice(&bytes).map_err(|e| bad(&e))?;
        let diff_ids = berth_image::manifest::diff_ids(&image.config).map_err(|e| bad(&e))?;
        if diff_ids.len() != image.layers.len() {
            return Err(bad(
                &"the manifest's layers and the config's diff ids differ",
            ));
        }
        let mut layers = Vec::new();
        for (descriptor, diff_id) in image.layers.iter().zip(diff_ids) {
            let blob = berth_image::manifest::descriptor_digest(descriptor).map_err(|e| bad(&e))?;
            layers.push(LayerRef {
                diff_id,
                blob,
                size: descriptor.size(),
            });
        }
        Ok(BaseImage {
            id: image.config_digest.to_string(),
            layers,
            raw,
        })
    }
}
