//! `berth pull`: an image from a registry into the local store.

use std::sync::Arc;

use berth_image::distribution::origins::BlobOrigins;
use berth_image::distribution::pull::PullOptions;
use berth_image::distribution::unpack::SnapshotUnpacker;
use berth_image::distribution::{self, progress, ProgressSink};
use berth_image::layer::Snapshotter;
use berth_image::manifest::Platform;
use berth_image::reference::Reference;
use clap::Args;

use crate::commands::{async_rt, registry_client, Context};

/// Flags of `pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The platform to pull (os/arch[/variant]); given explicitly, an image of another
    /// platform is refused. Default: this host's.
    #[arg(long)]
    platform: Option<String>,
    /// Print only the image's name at the end.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Use plain HTTP with this registry even if it is not on loopback.
    #[arg(long)]
    insecure: bool,
    /// The image: NAME[:TAG|@DIGEST].
    reference: String,
}

pub fn run(ctx: &Context, args: PullArgs) -> anyhow::Result<i32> {
    let store = ctx.image_store()?;
    let reference = Reference::parse(&args.reference)?;
    let platform = match &args.platform {
        Some(text) => text.parse()?,
        None => Platform::host(),
    };
    if !args.quiet {
        if !args.reference.contains(':') && reference.digest().is_none() {
            println!("Using default tag: latest");
        }
        println!(
            "{}: Pulling from {}",
            reference.tag().unwrap_or("latest"),
            reference.repository()
        );
    }
    let before = store.resolve(&reference.to_string()).ok();
    let client = registry_client(reference.registry(), args.insecure)?;
    let options = PullOptions {
        platform,
        strict_platform: args.platform.is_some(),
        progress: progress_sink(args.quiet),
        recorder: Some(Arc::new(store.clone())),
        unpacker: Some(Arc::new(SnapshotUnpacker::new(Snapshotter::open(
            &ctx.data_root,
        )?))),
        origins: Some(BlobOrigins::new(ctx.data_root.join("origins"))),
        ..PullOptions::default()
    };
    let pulled = async_rt::block_on(distribution::pull::pull(
        &client,
        store.content(),
        &reference,
        &options,
    ))??;
    if !args.quiet {
        println!("Digest: {}", pulled.digest);
        if before.as_ref() == Some(&pulled.digest) {
            println!("Status: Image is up to date for {}", reference.familiar());
        } else {
            println!(
                "Status: Downloaded newer image for {}",
                reference.familiar()
            );
        }
    }
    println!("{reference}");
    Ok(0)
}

/// Bars on a terminal, plain lines otherwise, nothing with `--quiet`.
pub fn progress_sink(quiet: bool) -> Arc<dyn ProgressSink> {
    if quiet {
        Arc::new(progress::NoProgress)
    } else {
        Arc::from(progress::for_stderr())
    }
}
