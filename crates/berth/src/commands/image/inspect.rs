//! `berth image inspect`: an image's details, shaped like docker's.

use clap::Args;
use serde_json::json;

use crate::commands::Context;

/// Flags of `image inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Images: references or ids.
    #[arg(required = true)]
    images: Vec<String>,
}

pub fn run(ctx: &Context, args: InspectArgs) -> anyhow::Result<i32> {
    let store = ctx.image_store()?;
    let mut out = Vec::new();
    for name in &args.images {
        let image = store.get(name)?;
        let references = store.names_of(&image.digest)?;
        let (tags, digests): (Vec<_>, Vec<_>) =
            references.iter().partition(|r| r.digest().is_none());
        let config = serde_json::to_value(&image.config)?;
        let size: u64 = image.layers.iter().map(|l| l.size()).sum();
        out.push(json!({
            "Id": image.config_digest.to_string(),
            "RepoTags": tags.iter().map(|r| r.familiar()).collect::<Vec<_>>(),
            "RepoDigests": digests.iter().map(|r| r.familiar()).collect::<Vec<_>>(),
            "Created": config.get("created"),
            "Author": config.get("author"),
            "Architecture": config.get("architecture"),
            "Os": config.get("os"),
            "Config": config.get("config"),
            "Size": size,
            "RootFS": {
                "Type": "layers",
                "Layers": image.config.rootfs().diff_ids(),
            },
            "Descriptor": {
                "mediaType": image.manifest.media_type(),
                "digest": image.manifest_digest.to_string(),
            },
        }));
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(0)
}
