//! `berth import`: a one-layer image from a root filesystem tarball (how base images are
//! made offline).

use std::io::BufReader;
use std::path::PathBuf;

use anyhow::Context as _;
use berth_image::archive::{self, ConfigChanges};
use berth_image::reference::Reference;
use clap::Args;

use crate::commands::Context;

/// Flags of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Dockerfile-style changes to the config (`CMD ["sh"]`, `ENV A=b`, ...), repeatable.
    #[arg(long, short = 'c')]
    change: Vec<String>,
    /// The commit message in the image history.
    #[arg(long, short = 'm')]
    message: Option<String>,
    /// The tarball (plain, gzip or zstd), or `-` for stdin.
    file: PathBuf,
    /// The name to give the image.
    reference: Option<String>,
}

pub fn run(ctx: &Context, args: ImportArgs) -> anyhow::Result<i32> {
    let store = ctx.image_store()?;
    let reference = args
        .reference
        .as_deref()
        .map(Reference::parse)
        .transpose()?;
    let lines: Vec<&str> = args.change.iter().map(String::as_str).collect();
    let mut changes = ConfigChanges::parse(&lines)?;
    if args.message.is_some() {
        changes.message = args.message.clone();
    }
    let image = if args.file.as_os_str() == "-" {
        archive::import(
            &store,
            BufReader::new(std::io::stdin().lock()),
            reference.as_ref(),
            &changes,
        )?
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("open `{}`", args.file.display()))?;
        archive::import(&store, BufReader::new(file), reference.as_ref(), &changes)?
    };
    println!("{}", image.config_digest);
    Ok(0)
}
