//! `berth save`: images to a tar archive (docker's format, or an OCI layout).

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use berth_image::archive::{self, Format};
use clap::{Args, ValueEnum};

use crate::commands::Context;

/// Flags of `save`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to this file instead of stdout.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Archive format.
    #[arg(long, value_enum, default_value_t = SaveFormat::Docker)]
    format: SaveFormat,
    /// Images: references or ids.
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SaveFormat {
    /// `docker save`'s tar (also an OCI layout).
    Docker,
    /// A plain OCI image layout tar.
    Oci,
}

pub fn run(ctx: &Context, args: SaveArgs) -> anyhow::Result<i32> {
    let store = ctx.image_store()?;
    let format = match args.format {
        SaveFormat::Docker => Format::DockerArchive,
        SaveFormat::Oci => Format::OciLayout,
    };
    let refs: Vec<&str> = args.images.iter().map(String::as_str).collect();
    match &args.output {
        Some(path) => {
            let tmp = path.with_extension("berth-partial");
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("create `{}`", tmp.display()))?;
            let written = archive::save(&store, &refs, BufWriter::new(file), format)
                .map_err(anyhow::Error::from)
                .and_then(|mut out| Ok(out.flush()?));
            if let Err(err) = written {
                // A failed save leaves nothing behind, not even the partial file.
                let _ = std::fs::remove_file(&tmp);
                return Err(err);
            }
            std::fs::rename(&tmp, path).with_context(|| format!("write `{}`", path.display()))?;
        }
        None => {
            if std::io::stdout().is_terminal() {
                bail!("refusing to write an archive to a terminal: use -o FILE or redirect stdout");
            }
            let mut out = archive::save(
                &store,
                &refs,
                BufWriter::new(std::io::stdout().lock()),
                format,
            )?;
            out.flush()?;
        }
    }
    Ok(0)
}
