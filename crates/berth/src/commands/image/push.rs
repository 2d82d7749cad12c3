//! `berth push`: an image from the local store to a registry.

use berth_image::distribution;
use berth_image::distribution::origins::BlobOrigins;
use berth_image::distribution::push::PushOptions;
use berth_image::reference::Reference;
use clap::Args;

use super::pull::progress_sink;
use crate::commands::{async_rt, registry_client, Context};

/// Flags of `push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Print only the pushed digest.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Use plain HTTP with this registry even if it is not on loopback.
    #[arg(long)]
    insecure: bool,
    /// The image: NAME[:TAG], named as it should be in the registry.
    reference: String,
}

pub fn run(ctx: &Context, args: PushArgs) -> anyhow::Result<i32> {
    let store = ctx.image_store()?;
    let reference = Reference::parse(&args.reference)?;
    let (digest, _) = store.resolve_name(&args.reference)?;
    if !args.quiet {
        println!("The push refers to repository [{}]", reference.name());
    }
    let client = registry_client(reference.registry(), args.insecure)?;
    let options = PushOptions {
        progress: progress_sink(args.quiet),
        origins: Some(BlobOrigins::new(ctx.data_root.join("origins"))),
        ..PushOptions::default()
    };
    let pushed = async_rt::block_on(distribution::push::push(
        &client,
        store.content(),
        &digest,
        &reference,
        &options,
    ))??;
    let size = store.content().size(&pushed).unwrap_or(0);
    if args.quiet {
        println!("{pushed}");
    } else {
        println!(
            "{}: digest: {pushed} size: {size}",
            reference.tag().unwrap_or("latest")
        );
    }
    Ok(0)
}
