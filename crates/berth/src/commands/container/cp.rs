//! `berth cp`: copy files between a container and this host, through the archive API
//! (tar streams). `-` stands for a tar on stdin or stdout.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context as _};
use berth_client::DockerClient;
use clap::Args;

use crate::commands::{async_rt, daemon_client, Context};

/// `berth cp` arguments.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Keep the UID/GID of the source files (copying into a container).
    #[arg(short, long)]
    archive: bool,
    /// `CONTAINER:SRC_PATH`, a local path, or `-` (a tar on stdin).
    source: String,
    /// `CONTAINER:DEST_PATH`, a local path, or `-` (a tar on stdout).
    destination: String,
}

/// `CONTAINER:PATH`, when `arg` names a path in a container. Local paths with a colon
/// must start with `/` or `.` (as with docker).
fn container_path(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    arg.split_once(':')
}

/// Copies in the direction the arguments say.
pub fn run(ctx: &Context, args: CpArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        match (
            container_path(&args.source),
            container_path(&args.destination),
        ) {
            (Some((id, path)), None) => copy_out(&client, id, path, &args.destination).await?,
            (None, Some((id, path))) => {
                copy_in(&client, &args.source, id, path, args.archive).await?
            }
            _ => bail!("copying between containers or between local paths is not supported"),
        }
        Ok(0)
    })?
}

async fn copy_out(
    client: &DockerClient,
    id: &str,
    path: &str,
    destination: &str,
) -> anyhow::Result<()> {
    let (stat, mut stream) = client.get_archive(id, path).await?;
    if destination == "-" {
        let mut stdout = std::io::stdout();
        while let Some(chunk) = stream.next().await {
            stdout.write_all(&chunk?)?;
        }
        stdout.flush()?;
        return Ok(());
    }
    let tar = stream.collect().await?;
    let destination = PathBuf::from(destination);
    // Into an existing directory the copy keeps its name; otherwise it takes the
    // destination's.
    let target_root = if destination.is_dir() {
        destination.join(&stat.name)
    } else {
        destination.clone()
    };
    let mut archive = tar::Archive::new(tar.as_slice());
    archive.set_preserve_permissions(true);
    for entry in archive
        .entries()
        .context("read the archive from the daemon")?
    {
        let mut entry = entry.context("read the archive from the daemon")?;
        let name = entry.path()?.into_owned();
        let relative = name.strip_prefix(&stat.name).unwrap_or(&name).to_path_buf();
        if relative
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::RootDir))
        {
            bail!("the archive has an unsafe path `{}`", name.display());
        }
        let out = if relative.as_os_str().is_empty() {
            target_root.clone()
        } else {
            target_root.join(&relative)
        };
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("create `{}`", parent.display()))?;
        }
        entry
            .unpack(&out)
            .with_context(|| format!("write `{}`", out.display()))?;
    }
    Ok(())
}

async fn copy_in(
    client: &DockerClient,
    source: &str,
    id: &str,
    path: &str,
    archive: bool,
) -> anyhow::Result<()> {
    if source == "-" {
        let mut tar = Vec::new();
        std::io::stdin().read_to_end(&mut tar)?;
        client.put_archive(id, path, tar, archive).await?;
        return Ok(());
    }
    let source = Path::new(source);
    let metadata = std::fs::symlink_metadata(source)
        .with_context(|| format!("stat `{}`", source.display()))?;
    // Into an existing directory the copy keeps its name; otherwise it goes into the
    // parent under the destination's name.
    let (directory, name) = match client.stat_container_path(id, path).await {
        Ok(stat) if stat.is_dir() => (path.to_string(), base_name(source)?),
        Ok(_) | Err(_) => {
            let dest = Path::new(path);
            let parent = dest
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/".to_string());
            (parent, base_name(dest)?)
        }
    };
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    if metadata.is_dir() {
        builder.append_dir_all(&name, source)
    } else {
        builder.append_path_with_name(source, &name)
    }
    .with_context(|| format!("pack `{}`", source.display()))?;
    let tar = builder.into_inner().context("finish the archive")?;
    client.put_archive(id, &directory, tar, archive).await?;
    Ok(())
}

fn base_name(path: &Path) -> anyhow::Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("`{}` has no file name", path.display()))
}
