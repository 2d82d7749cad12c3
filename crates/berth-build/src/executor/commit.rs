//! The built target to an image: Docker's config document (platform, author, config,
//! created, history, rootfs), the `--label`s added, committed and tagged.

use berth_image::digest::Digest;
use berth_image::reference::Reference;
use oci_spec::image::{Descriptor, MediaType};
use serde_json::{json, Value};

use super::stage::Built;
use super::{config, BuildError, BuildRequest, BuildResult, Builder};

impl Builder {
    pub(crate) fn commit(
        &self,
        request: &BuildRequest,
        target: &Built,
    ) -> Result<BuildResult, BuildError> {
        // The `--label`s are LABEL steps of the target stage (see `add_label_steps`).
        let image_config = target.config.clone();
        let created = match request.source_date_epoch {
            Some(e) => config::rfc3339(e, 0),
            None => target
                .history
                .last()
                .and_then(|h| h.get("created"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| config::created_now(None)),
        };
        let (os, arch, variant) = &target.platform;
        let mut document = json!({
            "architecture": arch,
            "os": os,
            "config": config::to_docker(&image_config),
            "created": created,
            "history": target.history,
        });
        if !target.parent_id.is_empty() {
            document["config"]["Image"] = json!(target.parent_id);
        }
        if let Some(v) = variant {
            document["variant"] = json!(v);
        }
        if let Some(a) = &image_config.author {
            document["author"] = json!(a);
        }
        let mut layers = Vec::new();
        for layer in &target.layers {
            let digest = berth_image::manifest::oci_digest(&layer.blob)
                .map_err(|e| BuildError::Other(e.to_string()))?;
            let media_type = match self.compression_of(&layer.blob) {
                Some("zstd") => MediaType::ImageLayerZstd,
                Some("gzip") => MediaType::ImageLayerGzip,
                _ => MediaType::ImageLayer,
            };
            layers.push((
                Descriptor::new(media_type, layer.size, digest),
                layer.diff_id.clone(),
            ));
        }
        let references = request
            .tags
            .iter()
            .map(|t| {
                Reference::parse(t)
                    .map_err(|e| BuildError::Other(format!("invalid tag {t:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let image = self
            .images
            .commit_image_json(document, layers, references.first())
            .map_err(|e| BuildError::Other(format!("commit the image: {e}")))?;
        for r in references.iter().skip(1) {
            self.images
                .tag(r, &image.digest)
                .map_err(|e| BuildError::Other(format!("tag {r}: {e}")))?;
        }
        Ok(BuildResult {
            image_id: image.config_digest.to_string(),
            tags: references.iter().map(|r| r.familiar()).collect(),
        })
    }

    /// A blob's compression, from its first bytes.
    fn compression_of(&self, blob: &Digest) -> Option<&'static str> {
        let mut head = [0u8; 4];
        let mut file = self.images.content().open_blob(blob).ok()?;
        std::io::Read::read_exact(&mut file, &mut head).ok()?;
        Some(berth_image::layer::Compression::detect(&head).name())
    }
}
