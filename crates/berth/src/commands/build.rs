//! `berth build`: sends a context to the daemon's `POST /build` and prints the build's
//! output as docker's legacy builder does.
//!
//! The context is the directory PATH (or a tar on stdin for `-`), less what
//! `.dockerignore` excludes; the Dockerfile and `.dockerignore` are always sent. A
//! Dockerfile outside the context (`-f ../x`) travels inside it under a generated name.
//!
//! A berth daemon on this host (a unix socket, answering `Server: berth/...`) is not sent
//! the context: it reads the directory in place (`x-berth-context-dir`, a berth extension
//! of `POST /build`), applying `.dockerignore` itself. It falls back to the tar when the
//! daemon cannot see the same directory (another mount namespace).

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use berth_build::dockerignore::DockerIgnore;
use berth_client::types::progress::JsonMessage;
use berth_client::{BuildOptions, DockerClient, Error as ClientError, InPlaceContext};
use clap::Args;

use crate::commands::build_progress::{Progress, Renderer};
use crate::commands::{async_rt, daemon_client, Context};

/// Flags of `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Name and optionally a tag (`name:tag`); may be repeated.
    #[arg(short = 't', long = "tag")]
    tags: Vec<String>,
    /// The Dockerfile (default: PATH/Dockerfile; `-` reads it from stdin).
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    /// A build-time variable (`NAME=value`, or `NAME` to take it from the environment).
    #[arg(long = "build-arg")]
    build_args: Vec<String>,
    /// Metadata for the image (`key=value`).
    #[arg(long = "label")]
    labels: Vec<String>,
    /// The stage to build.
    #[arg(long)]
    target: Option<String>,
    /// Do not use the cache.
    #[arg(long)]
    no_cache: bool,
    /// Always pull base images.
    #[arg(long)]
    pull: bool,
    /// Write the image id to this file.
    #[arg(long)]
    iidfile: Option<PathBuf>,
    /// The platform (`linux/amd64`).
    #[arg(long)]
    platform: Option<String>,
    /// Progress output: `plain` (the legacy builder's lines), `tty` (step output on one
    /// line rewritten in place), `quiet` (the image id alone), `auto` (`tty` on a terminal).
    #[arg(long, value_enum, default_value = "auto")]
    progress: Progress,
    /// Print only the image id.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// The network of RUN steps (`default`, `host`, `none`).
    #[arg(long)]
    network: Option<String>,
    /// The context: a directory, or `-` for a tar on stdin.
    path: String,
}

/// Builds; answers the exit code (a failed RUN's, as docker does).
pub fn run(ctx: &Context, args: BuildArgs) -> anyhow::Result<i32> {
    let progress = args.progress.resolve();
    let quiet = args.quiet || progress == Progress::Quiet;
    let in_place = in_place_candidate(&args)?;
    let mut options = BuildOptions {
        tags: args.tags.clone(),
        dockerfile: None,
        build_args: build_args(&args.build_args),
        labels: args
            .labels
            .iter()
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap_or((l, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        target: args.target.clone(),
        no_cache: args.no_cache,
        pull: args.pull,
        quiet,
        network: args.network.clone(),
        platform: args.platform.clone(),
        in_place: None,
    };
    let outcome = async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        if let Some((context, dockerfile)) = in_place {
            if is_local_berth(&client).await {
                options.in_place = Some(context);
                options.dockerfile = Some(dockerfile);
                match client.build_image(Vec::new().into(), &options).await {
                    Ok(stream) => return print_stream(stream, progress).await,
                    // The daemon sees another directory there: send the tar.
                    Err(e) if daemon_message(&e).contains("x-berth-context-dir") => {}
                    Err(e) => return Ok(Outcome::Refused(daemon_message(&e))),
                }
                options.in_place = None;
            }
        }
        let (tar, dockerfile) = context_tar(&args)?;
        options.dockerfile = dockerfile;
        if !quiet {
            // On stdout, as docker's legacy builder prints it; errors alone go to stderr.
            println!(
                "Sending build context to the daemon  {}",
                human_size(tar.len() as u64)
            );
        }
        let stream = match client.build_image(tar.into(), &options).await {
            Ok(stream) => stream,
            Err(e) => return Ok(Outcome::Refused(daemon_message(&e))),
        };
        print_stream(stream, progress).await
    })??;
    match outcome {
        Outcome::Built(id) => {
            if let Some(path) = &args.iidfile {
                std::fs::write(path, &id)
                    .with_context(|| format!("write the image id to `{}`", path.display()))?;
            }
            Ok(0)
        }
        Outcome::Failed { message, code } => {
            eprintln!("{message}");
            Ok(code)
        }
        Outcome::Refused(message) => {
            eprintln!("Error response from daemon: {message}");
            Ok(1)
        }
    }
}

/// How a build ended.
enum Outcome {
    /// The image id.
    Built(String),
    /// The stream's error and the exit code it carries (1 when none).
    Failed { message: String, code: i32 },
    /// The daemon refused the request before building.
    Refused(String),
}

/// Prints the stream's text as it comes; answers how the build ended.
async fn print_stream(
    mut stream: berth_client::JsonStream<JsonMessage>,
    progress: Progress,
) -> anyhow::Result<Outcome> {
    let mut id = None;
    let mut renderer = Renderer::new(std::io::stdout().lock(), progress);
    while let Some(message) = stream.next().await {
        let message = message.context("read the build's output")?;
        if let Some(failure) = message.error_message() {
            let code = message
                .error_detail
                .as_ref()
                .and_then(|d| d.code)
                .and_then(|c| i32::try_from(c).ok())
                .filter(|c| *c != 0)
                .unwrap_or(1);
            renderer.finish(true)?;
            return Ok(Outcome::Failed {
                message: failure.to_string(),
                code,
            });
        }
        if let Some(aux) = &message.aux {
            if let Some(text) = aux.get("ID").and_then(|v| v.as_str()) {
                id = Some(text.to_string());
            }
        }
        if let Some(text) = &message.stream {
            // dockerd's quiet answer carries the id as text only, without an `aux`.
            if id.is_none() && is_image_id(text.trim()) {
                id = Some(text.trim().to_string());
            }
            renderer.text(text)?;
        }
    }
    renderer.finish(false)?;
    match id {
        Some(id) => Ok(Outcome::Built(id)),
        None => bail!("the daemon's answer ended without an image id"),
    }
}

/// `sha256:` and 64 hex digits.
fn is_image_id(text: &str) -> bool {
    text.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The daemon's own words for an error answer.
fn daemon_message(err: &ClientError) -> String {
    match err {
        ClientError::NotFound { message }
        | ClientError::Conflict { message }
        | ClientError::InvalidArgument { message }
        | ClientError::Server { message, .. }
        | ClientError::Unauthorized { message, .. } => message.clone(),
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    }
}

/// `--build-arg`: `NAME=value`; a bare `NAME` takes the environment's value, or is sent
/// without one.
fn build_args(list: &[String]) -> BTreeMap<String, Option<String>> {
    list.iter()
        .map(|arg| match arg.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (arg.clone(), std::env::var(arg).ok()),
        })
        .collect()
}

/// The context directory, to be read in place, and the Dockerfile's name in it; None when
/// the context is a tar on stdin or the Dockerfile is not inside it. A missing context or
/// Dockerfile is refused here, as [`context_tar`] would.
fn in_place_candidate(args: &BuildArgs) -> anyhow::Result<Option<(InPlaceContext, String)>> {
    if args.path == "-" {
        return Ok(None);
    }
    let root = PathBuf::from(&args.path);
    if !root.is_dir() {
        bail!(
            "unable to prepare context: path \"{}\" not found",
            args.path
        );
    }
    let name = match args.file.as_deref() {
        None => "Dockerfile".to_string(),
        Some("-") => return Ok(None),
        Some(file) => match relative_to(&root, Path::new(file)) {
            Some(rel) => rel,
            None => return Ok(None),
        },
    };
    if !root.join(&name).is_file() {
        bail!(
            "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
            root.join(&name).display()
        );
    }
    let dir = root
        .canonicalize()
        .with_context(|| format!("resolve the context `{}`", root.display()))?;
    let meta = std::fs::metadata(&dir).with_context(|| format!("stat `{}`", dir.display()))?;
    let Some(text) = dir.to_str() else {
        // Not UTF-8: it cannot travel in a query; the tar can.
        return Ok(None);
    };
    let context = InPlaceContext {
        dir: text.to_string(),
        id: format!("{}:{}", meta.dev(), meta.ino()),
    };
    Ok(Some((context, name)))
}

/// Whether the daemon is berth's, on this host: a unix socket, and its `Server` header.
async fn is_local_berth(client: &DockerClient) -> bool {
    if !client.host().starts_with("unix://") {
        return false;
    }
    client
        .ping()
        .await
        .is_ok_and(|p| p.server.is_some_and(|s| s.starts_with("berth/")))
}

/// The context as a tar, and the Dockerfile's name in it (None: the default).
fn context_tar(args: &BuildArgs) -> anyhow::Result<(Vec<u8>, Option<String>)> {
    if args.path == "-" {
        let mut tar = Vec::new();
        std::io::stdin()
            .read_to_end(&mut tar)
            .context("read the context tar from stdin")?;
        return Ok((tar, args.file.clone()));
    }
    let root = PathBuf::from(&args.path);
    if !root.is_dir() {
        bail!(
            "unable to prepare context: path \"{}\" not found",
            args.path
        );
    }
    // The Dockerfile: inside the context by its relative name, else carried in it.
    let (name, outside) = match args.file.as_deref() {
        None => ("Dockerfile".to_string(), None),
        Some("-") => {
            let mut text = Vec::new();
            std::io::stdin()
                .read_to_end(&mut text)
                .context("read the Dockerfile from stdin")?;
            (generated_name(), Some(text))
        }
        Some(file) => match relative_to(&root, Path::new(file)) {
            Some(rel) => (rel, None),
            None => {
                let text =
                    std::fs::read(file).with_context(|| format!("read the Dockerfile `{file}`"))?;
                (generated_name(), Some(text))
            }
        },
    };
    if outside.is_none() && !root.join(&name).is_file() {
        bail!(
            "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
            root.join(&name).display()
        );
    }
    let ignore = match std::fs::read_to_string(root.join(".dockerignore")) {
        Ok(text) => DockerIgnore::parse(&text).context("read .dockerignore")?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            DockerIgnore::parse("").context("read .dockerignore")?
        }
        Err(e) => return Err(e).context("read .dockerignore"),
    };
    let mut paths = ignore
        .walk(&root)
        .with_context(|| format!("walk the context `{}`", root.display()))?;
    for always in [name.as_str(), ".dockerignore"] {
        if outside.is_none() && root.join(always).is_file() && !paths.iter().any(|p| p == always) {
            paths.push(always.to_string());
        }
    }
    paths.sort();
    let mut builder = TarWriter::new();
    for path in &paths {
        builder.append(&root, path.trim_end_matches('/'))?;
    }
    if let Some(text) = outside {
        builder.append_bytes(&name, &text)?;
    }
    Ok((builder.finish()?, Some(name)))
}

/// A name for a Dockerfile from outside the context, as the docker CLI makes one.
fn generated_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        ".dockerfile.{:012x}",
        u64::from(nanos) ^ u64::from(std::process::id()) << 32
    )
}

/// `file` relative to `root` when it lies inside it.
fn relative_to(root: &Path, file: &Path) -> Option<String> {
    let root = root.canonicalize().ok()?;
    let file = file.canonicalize().ok()?;
    let rel = file.strip_prefix(&root).ok()?;
    Some(rel.to_string_lossy().into_owned())
}

/// A tar of context entries, owned by root as the docker CLI sends them, with each
/// directory written before what it holds.
struct TarWriter {
    builder: tar::Builder<Vec<u8>>,
    dirs: std::collections::HashSet<String>,
}

impl TarWriter {
    fn new() -> Self {
        TarWriter {
            builder: tar::Builder::new(Vec::new()),
            dirs: Default::default(),
        }
    }

    /// Appends `rel` (a file, symlink or directory under `root`) and its parents.
    fn append(&mut self, root: &Path, rel: &str) -> anyhow::Result<()> {
        let parents: Vec<&str> = rel.match_indices('/').map(|(i, _)| &rel[..i]).collect();
        for parent in parents {
            self.append_one(root, parent)?;
        }
        self.append_one(root, rel)
    }

    fn append_one(&mut self, root: &Path, rel: &str) -> anyhow::Result<()> {
        let path = root.join(rel);
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("stat `{}`", path.display()))?;
        if meta.is_dir() && !self.dirs.insert(rel.to_string()) {
            return Ok(());
        }
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
        header.set_uid(0);
        header.set_gid(0);
        let _ = header.set_username("");
        let _ = header.set_groupname("");
        let add =
            |e| anyhow::Error::new(e).context(format!("add `{}` to the context", path.display()));
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).map_err(add)?;
            header.set_size(0);
            self.builder
                .append_link(&mut header, rel, target)
                .map_err(add)?;
        } else if meta.is_dir() {
            header.set_size(0);
            self.builder
                .append_data(&mut header, format!("{rel}/"), std::io::empty())
                .map_err(add)?;
        } else if meta.is_file() {
            let file = std::fs::File::open(&path).map_err(add)?;
            self.builder
                .append_data(&mut header, rel, file)
                .map_err(add)?;
        }
        // Sockets, fifos and devices are not part of a context.
        Ok(())
    }

    /// Appends a regular file of `data` named `name`.
    fn append_bytes(&mut self, name: &str, data: &[u8]) -> anyhow::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        );
        self.builder
            .append_data(&mut header, name, data)
            .with_context(|| format!("add `{name}` to the context"))
    }

    fn finish(self) -> anyhow::Result<Vec<u8>> {
        self.builder
            .into_inner()
            .context("finish the context archive")
    }
}

/// Docker's sizes: `2.048kB`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        let number = format!("{value:.4}");
        let number = number.trim_end_matches('0').trim_end_matches('.');
        format!("{number}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(tar: &[u8]) -> Vec<String> {
        tar::Archive::new(tar)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    fn args(path: &Path, file: Option<&str>) -> BuildArgs {
        BuildArgs {
            tags: vec![],
            file: file.map(str::to_string),
            build_args: vec![],
            labels: vec![],
            target: None,
            no_cache: false,
            pull: false,
            iidfile: None,
            platform: None,
            progress: Progress::Auto,
            quiet: false,
            network: None,
            path: path.to_string_lossy().into_owned(),
        }
    }

    #[test]
    fn dockerignore_is_honoured_but_the_dockerfile_always_goes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(
            dir.path().join(".dockerignore"),
            "Dockerfile\n*.log\nsecret/\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("a.log"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("src/deep")).unwrap();
        std::fs::write(dir.path().join("src/deep/main.c"), "int main;").unwrap();
        std::fs::create_dir(dir.path().join("secret")).unwrap();
        std::fs::write(dir.path().join("secret/key"), "k").unwrap();
        let (tar, name) = context_tar(&args(dir.path(), None)).unwrap();
        assert_eq!(name.as_deref(), Some("Dockerfile"));
        let listed = entries(&tar);
        assert_eq!(
            listed,
            [
                ".dockerignore",
                "Dockerfile",
                "src/",
                "src/deep/",
                "src/deep/main.c"
            ]
        );
    }

    #[test]
    fn a_dockerfile_outside_the_context_travels_inside_it() {
        let outer = tempfile::tempdir().unwrap();
        let ctx = outer.path().join("ctx");
        std::fs::create_dir(&ctx).unwrap();
        let file = outer.path().join("build.Dockerfile");
        std::fs::write(&file, "FROM scratch\n").unwrap();
        let (tar, name) = context_tar(&args(&ctx, Some(file.to_str().unwrap()))).unwrap();
        let name = name.unwrap();
        assert!(name.starts_with(".dockerfile."), "{name}");
        assert_eq!(entries(&tar), [name]);
    }

    #[test]
    fn build_args_without_a_value_come_from_the_environment() {
        let parsed = build_args(&["A=1".into(), "PATH".into(), "BERTH_NO_SUCH_VAR_X".into()]);
        assert_eq!(parsed["A"].as_deref(), Some("1"));
        assert!(parsed["PATH"].is_some());
        assert_eq!(parsed["BERTH_NO_SUCH_VAR_X"], None);
    }

    #[test]
    fn sizes_read_as_docker_prints_them() {
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(2048), "2.048kB");
    }
}
