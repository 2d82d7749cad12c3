//! `berth load`: images from a `docker save` tar or an OCI layout tar.

use std::io::BufReader;
use std::path::PathBuf;

use anyhow::Context as _;
use berth_image::archive;
use clap::Args;

use crate::commands::Context;

/// Flags of `load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from this file (or an OCI layout directory) instead of stdin.
    #[arg(long, short = 'i')]
    input: Option<PathBuf>,
    /// Print nothing.
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub fn run(ctx: &Context, args: LoadArgs) -> anyhow::Result<i32> {
    let store = ctx.image_store()?;
    let loaded = match &args.input {
        Some(path) if path.is_dir() => archive::load_oci_dir(&store, path)?,
        Some(path) => {
            let file =
                std::fs::File::open(path).with_context(|| format!("open `{}`", path.display()))?;
            archive::load(&store, BufReader::new(file))?
        }
        None => archive::load(&store, BufReader::new(std::io::stdin().lock()))?,
    };
    if !args.quiet {
        for image in loaded {
            match image.reference {
                Some(reference) => println!("Loaded image: {}", reference.familiar()),
                None => println!("Loaded image ID: {}", image.id),
            }
        }
    }
    Ok(0)
}
