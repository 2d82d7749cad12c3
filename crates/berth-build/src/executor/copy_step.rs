//! The COPY and ADD steps: sources and their digest first (the cache key needs it), then,
//! on a miss, the copy onto a writable overlay whose upper directory becomes the layer.

use std::collections::HashMap;

use berth_image::digest::{Digest, Hasher};

use super::cache::StepRecord;
use super::config;
use super::copy::{self, CopyOptions, Source, SourceRoot};
use super::layer::Mounted;
use super::stage::{BuildContext, Built};
use super::BuildError;
use crate::instructions::{Copy, Instruction, Located};
use crate::StageBase;

/// A download of ADD.
#[derive(Debug)]
pub(crate) struct Download {
    pub name: String,
    pub content: Vec<u8>,
    pub mtime: Option<i64>,
}

/// What a COPY/ADD will copy, found before the cache lookup.
pub(crate) struct PreparedCopy {
    pub root: SourceRoot,
    pub sources: Vec<Source>,
    pub downloads: Vec<Download>,
    /// The digest of the local sources (part of `digest`).
    pub files_digest: Digest,
    pub digest: Digest,
    /// Keeps a `--from` view mounted until the copy is done.
    pub _view: Option<Mounted>,
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

impl BuildContext<'_> {
    /// A read-only view of another stage's or an image's root filesystem.
    pub(crate) async fn stage_or_image_view(
        &self,
        index: usize,
        from: &str,
        built: &HashMap<usize, Built>,
    ) -> Result<Mounted, BuildError> {
        let stage = match from.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => self.dockerfile.stage_by_name(from).map(|s| s.index),
        }
        .filter(|&n| n < index);
        let layers = match stage {
            Some(n) => built
                .get(&n)
                .map(|b| b.layers.clone())
                .ok_or_else(|| BuildError::Other(format!("stage {from} was not built")))?,
            None => match self.dockerfile.resolve_base(index, from) {
                StageBase::Scratch => Vec::new(),
                _ => {
                    self.builder
                        .base_image(from, self.request.platform.as_deref(), false)
                        .await?
                        .layers
                }
            },
        };
        let images = self.builder.images.clone();
        let snapshots = self.builder.snapshots.clone();
        let dir = self.step_dir("from");
        tokio::task::spawn_blocking(move || {
            super::layer::ensure_snapshots(&images, &snapshots, &layers)?;
            Mounted::new(&snapshots, &layers, dir, false)
        })
        .await
        .map_err(|e| BuildError::Other(e.to_string()))?
    }

    pub(crate) async fn prepare_copy(
        &self,
        index: usize,
        _state: &Built,
        located: &Located,
        built: &HashMap<usize, Built>,
    ) -> Result<PreparedCopy, BuildError> {
        let (copy, is_add, checksum) = match &located.instruction {
            Instruction::Copy(c) => (c, false, None),
            Instruction::Add(a) => (&a.copy, true, a.checksum.as_ref()),
            _ => return Err(BuildError::Other("not a COPY".into())),
        };
        let (root, view) = match &copy.from {
            Some(from) => {
                let view = self.stage_or_image_view(index, from, built).await?;
                (
                    SourceRoot {
                        root: view.root.clone(),
                        ignore: None,
                        digests: None,
                        live: false,
                    },
                    Some(view),
                )
            }
            None => (self.context.clone(), None),
        };
        let mut downloads = Vec::new();
        let mut specs = Vec::new();
        if let Some(expected) = checksum {
            if !copy.sources.iter().all(|s| is_url(s)) {
                return Err(BuildError::Source(
                    "ADD failed: --checksum can only be given for http(s) sources".into(),
                ));
            }
            if !expected.starts_with("sha256:") {
                return Err(BuildError::Source(format!(
                    "ADD failed: --checksum={expected}: expected sha256:<64 hex digits>"
                )));
            }
        }
        for s in &copy.sources {
            if is_url(s) && is_add {
                let download = fetch(s).await?;
                if let Some(expected) = checksum {
                    let got = Digest::sha256_of(&download.content).to_string();
                    if &got != expected {
                        return Err(BuildError::Source(format!(
                            "ADD failed: {s}: digest mismatch: --checksum={expected}, the download is {got}"
                        )));
                    }
                }
                downloads.push(download);
            } else {
                specs.push(s.clone());
            }
        }
        let found = {
            let root = root.clone();
            tokio::task::spawn_blocking(move || -> Result<_, BuildError> {
                let mut sources = Vec::new();
                for spec in &specs {
                    sources.extend(root.resolve(spec)?);
                }
                let digest = copy::digest(&root, &sources)?;
                Ok((sources, digest))
            })
            .await
            .map_err(|e| BuildError::Other(e.to_string()))?
        };
        let (sources, files_digest) = found.map_err(|e| match e {
            BuildError::Source(m) => BuildError::Source(format!(
                "{} failed: {m}",
                if is_add { "ADD" } else { "COPY" }
            )),
            other => other,
        })?;
        let mut h = Hasher::new();
        h.update(files_digest.to_string().as_bytes());
        for d in &downloads {
            h.update(format!("\n{}:{:?}:", d.name, d.mtime).as_bytes());
            h.update(&d.content);
        }
        Ok(PreparedCopy {
            root,
            sources,
            downloads,
            files_digest,
            digest: h.finish(),
            _view: view,
        })
    }

    pub(crate) async fn copy(
        &self,
        state: &Built,
        located: &Located,
        prepared: PreparedCopy,
    ) -> Result<StepRecord, BuildError> {
        let (copy, is_add) = match &located.instruction {
            Instruction::Copy(c) => (c.clone(), false),
            Instruction::Add(a) => (a.copy.clone(), true),
            _ => return Err(BuildError::Other("not a COPY".into())),
        };
        let count = prepared.sources.len() + prepared.downloads.len() + copy.heredocs.len();
        let workdir = if state.config.working_dir.is_empty() {
            "/".to_string()
        } else {
            state.config.working_dir.clone()
        };
        let dest = if copy.dest.starts_with('/') {
            copy.dest.clone()
        } else {
            // A relative destination is relative to WORKDIR; its trailing slash counts.
            let joined = crate::args::join_workdir(&workdir, &copy.dest);
            if copy.dest.ends_with('/') || copy.dest == "." {
                format!("{}/", joined.trim_end_matches('/'))
            } else {
                joined
            }
        };
        let dest_is_dir_syntax = dest.ends_with('/') || copy::is_root_like(&dest);
        let keyword = if is_add { "ADD" } else { "COPY" };
        if count > 1 && !dest_is_dir_syntax {
            return Err(BuildError::Source(format!(
                "When using {keyword} with more than one source file, the destination must be a directory and end with a /"
            )));
        }
        let mut mounted = Mounted::new(
            &self.builder.snapshots,
            &state.layers,
            self.step_dir("copy"),
            true,
        )?;
        let rootfs = mounted.root.clone();
        let summary = summary(&prepared, &copy);
        let created_by = config::nop_comment(
            &state
                .config
                .shell
                .clone()
                .unwrap_or_else(config::default_shell),
            // dockerd 20.10 glues `--chown=…` to the source summary, no space between.
            &format!(
                "{keyword} {}{summary} in {} ",
                copy.chown
                    .as_ref()
                    .map(|c| format!("--chown={c}"))
                    .unwrap_or_default(),
                copy.dest
            ),
        );
        let PreparedCopy {
            root,
            sources,
            downloads,
            files_digest,
            _view,
            ..
        } = prepared;
        let snapshots_dir = self.step_dir("add");
        let upper = mounted.upper.clone();
        let previous_key = previous_key(&state.cache_id, &located.instruction);
        let previous = self.previous_result(&previous_key);
        let result = tokio::task::spawn_blocking(move || -> Result<(), BuildError> {
            let owner = match &copy.chown {
                Some(spec) => copy::resolve_chown(&rootfs, spec)?,
                None => (0, 0),
            };
            let chmod = match &copy.chmod {
                Some(m) => Some(
                    u32::from_str_radix(m, 8)
                        .map_err(|_| BuildError::Source(format!("invalid chmod parameter: {m}")))?,
                ),
                None => None,
            };
            let options = CopyOptions { owner, chmod };
            let existing_dir = copy::resolve_in_root(&rootfs, &dest).is_dir();
            let dest_is_dir = dest_is_dir_syntax || existing_dir;
            // A live context may change under the build: what is copied is hashed again
            // as it is copied, and must be what the cache key was made of.
            let mut check = root.live.then(copy::Fingerprint::default);
            for source in &sources {
                if is_add && source.abs.is_file() {
                    let into = dest.trim_end_matches('/');
                    // From a live context, the file is read once, into a private copy that
                    // the check sees; that copy is what is extracted or copied.
                    let snapshot = match check.as_mut() {
                        Some(check) => Some(copy::snapshot_file(source, &snapshots_dir, check)?),
                        None => None,
                    };
                    let local = snapshot.as_ref().unwrap_or(source);
                    if copy::extract_if_archive(
                        &local.abs,
                        &rootfs,
                        if into.is_empty() { "/" } else { into },
                        owner,
                    )? {
                        continue;
                    }
                    if let Some(snapshot) = &snapshot {
                        copy::copy_source(
                            &root,
                            snapshot,
                            &rootfs,
                            &dest,
                            dest_is_dir,
                            options,
                            None,
                            None,
                        )?;
                        continue;
                    }
                }
                copy::copy_source(
                    &root,
                    source,
                    &rootfs,
                    &dest,
                    dest_is_dir,
                    options,
                    check.as_mut(),
                    upper.as_deref().map(|upper| copy::FreshTree {
                        upper,
                        previous: previous.as_deref(),
                    }),
                )?;
            }
            let _ = std::fs::remove_dir_all(&snapshots_dir);
            if check.is_some_and(|check| check.finish() != files_digest) {
                return Err(BuildError::Source(format!(
                    "{keyword} failed: the build context changed while it was read; build again"
                )));
            }
            let file_dest = |name: &str| {
                if dest_is_dir {
                    format!("{}/{name}", dest.trim_end_matches('/'))
                } else {
                    dest.clone()
                }
            };
            for d in &downloads {
                copy::write_file(
                    &rootfs,
                    &file_dest(&d.name),
                    &d.content,
                    0o600,
                    options,
                    d.mtime,
                )?;
            }
            for h in &copy.heredocs {
                copy::write_file(
                    &rootfs,
                    &file_dest(&h.name),
                    h.content.as_bytes(),
                    0o644,
                    options,
                    None,
                )?;
            }
            Ok(())
        })
        .await
        .map_err(|e| BuildError::Other(e.to_string()))?;
        drop(_view);
        result?;
        mounted.unmount()?;
        let record = self
            .commit_step(mounted, &state.layers, created_by, state.config.clone())
            .await?;
        if let Some(layer) = &record.layer {
            let mut stack = state.layers.clone();
            stack.push(layer.clone());
            if let Some(chain) = super::layer::chain_ids(&stack).last() {
                self.remember_result(&previous_key, chain);
            }
        }
        Ok(record)
    }
}

/// What names "the same COPY step" across builds whose sources differ: the parent's cache
/// id and the instruction.
fn previous_key(parent: &Digest, instruction: &Instruction) -> Digest {
    let text = serde_json::to_string(instruction).unwrap_or_default();
    super::cache::Cache::key(parent, &["the previous result of", &text])
}

impl BuildContext<'_> {
    fn results_dir(&self) -> std::path::PathBuf {
        self.builder
            .data_root
            .join("build-cache")
            .join("previous-results")
    }

    /// The root of the snapshot the step named `key` made last, if it is still there.
    fn previous_result(&self, key: &Digest) -> Option<std::path::PathBuf> {
        let text = std::fs::read_to_string(self.results_dir().join(key.hex())).ok()?;
        let chain: Digest = text.trim().parse().ok()?;
        self.builder.snapshots.lower_dirs(&[chain]).ok()?.pop()
    }

    /// Notes `chain` as the step's last result (atomically; a failure only costs a later
    /// copy its links).
    fn remember_result(&self, key: &Digest, chain: &Digest) {
        let dir = self.results_dir();
        let tmp = dir.join(format!(".{}.{}", key.hex(), super::layer::rand_suffix()));
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&tmp, chain.to_string()))
            .and_then(|()| std::fs::rename(&tmp, dir.join(key.hex())));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// Docker's `file:<sha>`, `dir:<sha>` or `multi:<sha>` source summary.
fn summary(prepared: &PreparedCopy, copy: &Copy) -> String {
    let count = prepared.sources.len() + prepared.downloads.len() + copy.heredocs.len();
    let kind = if count > 1 {
        "multi"
    } else if prepared.sources.first().is_some_and(|s| s.abs.is_dir()) {
        "dir"
    } else {
        "file"
    };
    format!("{kind}:{}", prepared.digest.hex())
}

/// Downloads an ADD URL; Docker names the file after the URL's last path segment and
/// gives it the `Last-Modified` time.
async fn fetch(url: &str) -> Result<Download, BuildError> {
    let fail =
        |e: &dyn std::fmt::Display| BuildError::Source(format!("ADD failed: fetch {url}: {e}"));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::get(url).await.map_err(|e| fail(&e))?;
    if !response.status().is_success() {
        return Err(fail(&format!("status {}", response.status())));
    }
    let mtime = response
        .headers()
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    let path = response.url().path().to_string();
    let name = path
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("__unnamed__")
        .to_string();
    let content = response.bytes().await.map_err(|e| fail(&e))?.to_vec();
    Ok(Download {
        name,
        content,
        mtime,
    })
}
