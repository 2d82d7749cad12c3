//! RUN: the command (shell form wrapped in SHELL, heredocs handed to the shell), its
//! environment (the config's Env plus the build args in scope, which are not persisted),
//! its mounts, run by the [`StepRunner`](super::StepRunner) on a writable overlay; the
//! upper directory becomes the step's layer.

use std::collections::HashMap;
use std::fs;

use tokio::sync::mpsc;

use super::cache::{Cache, StepRecord};
use super::config::{self, History};
use super::copy::{self, resolve_in_root};
use super::layer::Mounted;
use super::stage::{BuildContext, Built};
use super::{BuildError, BuildEvent, RunMount, RunStep};
use crate::args::{StageOutput, PREDEFINED_ARGS};
use crate::instructions::{Instruction, Located, MountType, Network, ShellOrExec};

impl BuildContext<'_> {
    pub(crate) async fn run(
        &self,
        index: usize,
        state: &Built,
        located: &Located,
        out: &StageOutput,
        built: &HashMap<usize, Built>,
    ) -> Result<StepRecord, BuildError> {
        let Instruction::Run {
            command,
            mounts,
            network,
            heredocs,
            ..
        } = &located.instruction
        else {
            return Err(BuildError::Other("not a RUN".into()));
        };
        let shell = state
            .config
            .shell
            .clone()
            .unwrap_or_else(config::default_shell);
        let (argv, shown) = match command {
            ShellOrExec::Shell(s) => {
                let script = match heredocs.as_slice() {
                    // `RUN <<EOF` alone: the body is the script (BuildKit's rule); handed
                    // to the shell as a heredoc it would feed no command.
                    [only] if is_lone_heredoc(s, &only.name) => only.content.clone(),
                    // Otherwise the shell reads the heredocs itself: the bodies follow the
                    // command line.
                    _ => {
                        let mut script = s.clone();
                        for h in heredocs {
                            script.push('\n');
                            script.push_str(&h.content);
                            script.push_str(&h.name);
                        }
                        script
                    }
                };
                let mut argv = shell.clone();
                argv.push(script);
                (argv, s.clone())
            }
            ShellOrExec::Exec(v) => (v.clone(), v.join(" ")),
        };
        // Build args reach RUN as environment variables unless ENV has the name.
        let visible: Vec<(String, String)> = out
            .args
            .iter()
            .filter(|(k, _)| state.config.env_value(k).is_none())
            .cloned()
            .collect();
        let mut env = state.config.env.clone();
        env.extend(visible.iter().map(|(k, v)| format!("{k}={v}")));
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
        }
        let mut history_args: Vec<String> = visible
            .iter()
            .filter(|(k, _)| !PREDEFINED_ARGS.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        history_args.sort();
        let mut created_by = argv.clone();
        if let ShellOrExec::Shell(s) = command {
            created_by = shell.clone();
            created_by.push(s.clone());
        }
        let mut created_by = created_by.join(" ");
        if !history_args.is_empty() {
            created_by = format!(
                "|{} {} {created_by}",
                history_args.len(),
                history_args.join(" ")
            );
        }

        let mut mounted = Mounted::new(
            &self.builder.snapshots,
            &state.layers,
            self.step_dir("run"),
            true,
        )?;
        let working_dir = if state.config.working_dir.is_empty() {
            "/".to_string()
        } else {
            state.config.working_dir.clone()
        };
        let wd = resolve_in_root(&mounted.root, &working_dir);
        fs::create_dir_all(&wd)
            .map_err(|e| BuildError::Other(format!("create {working_dir}: {e}")))?;
        let mut run_mounts = Vec::new();
        let mut views = Vec::new();
        // Writable binds' overlays, unmounted and removed when the step ends.
        let mut throwaways = Vec::new();
        for m in mounts {
            let target = m.target.clone().unwrap_or_default();
            match m.kind {
                MountType::Cache => {
                    let id = m.id.clone().unwrap_or_else(|| target.clone());
                    let dir = Cache::mount_dir(&self.builder.data_root, &id);
                    fs::create_dir_all(&dir)
                        .map_err(|e| BuildError::Other(format!("create {}: {e}", dir.display())))?;
                    run_mounts.push(RunMount {
                        source: dir,
                        target,
                        read_only: m.readonly.unwrap_or(false),
                    });
                }
                MountType::Bind => {
                    let source = m.source.clone().unwrap_or_else(|| "/".into());
                    let root = match &m.from {
                        None => self.context.root.clone(),
                        Some(from) => {
                            let view = self.stage_or_image_view(index, from, built).await?;
                            let root = view.root.clone();
                            views.push(view);
                            root
                        }
                    };
                    let rel = copy::clean(&source).ok_or_else(|| {
                        BuildError::Source(format!(
                            "forbidden path outside the build context: {source} ()"
                        ))
                    })?;
                    let mut source = resolve_in_root(&root, &rel.join("/"));
                    let read_only = m.readonly.unwrap_or(true);
                    if !read_only {
                        source = self.throwaway_copy(&source, &mut throwaways)?;
                    }
                    run_mounts.push(RunMount {
                        source,
                        target,
                        read_only,
                    });
                }
                other => {
                    return Err(BuildError::Other(format!(
                        "RUN --mount type {other:?} is not supported by this builder"
                    )))
                }
            }
        }
        let network = match network {
            Some(Network::None) => "none".to_string(),
            Some(Network::Host) => "host".to_string(),
            _ if self.request.network.is_empty() => "default".to_string(),
            _ => self.request.network.clone(),
        };
        let step = RunStep {
            rootfs: mounted.root.clone(),
            argv,
            env,
            user: state.config.user.clone(),
            working_dir,
            network,
            mounts: run_mounts,
        };
        let lower_etc = fs::symlink_metadata(mounted.root.join("etc")).ok();
        let (tx, mut rx) = mpsc::channel::<String>(64);
        let events = self.events.clone();
        let forward = async move {
            while let Some(line) = rx.recv().await {
                let _ = events.send(BuildEvent::Output(line)).await;
            }
        };
        let (code, ()) = tokio::join!(self.runner.run(step, tx), forward);
        drop(views);
        drop(throwaways);
        let code = code?;
        if code != 0 {
            return Err(BuildError::RunFailed {
                command: match command {
                    ShellOrExec::Shell(_) => format!("{} {shown}", shell.join(" ")),
                    ShellOrExec::Exec(_) => shown,
                },
                code,
            });
        }
        mounted.unmount()?;
        if let Some(upper) = &mounted.upper {
            drop_mount_points(upper, lower_etc.as_ref());
        }
        let images = self.builder.images.clone();
        let snapshots = self.builder.snapshots.clone();
        let parents = state.layers.clone();
        let epoch = self.request.source_date_epoch;
        let layer = tokio::task::spawn_blocking(move || {
            mounted.commit(&images, &snapshots, &parents, epoch)
        })
        .await
        .map_err(|e| BuildError::Other(e.to_string()))??;
        Ok(StepRecord {
            layer: Some(layer),
            history: History {
                created: config::created_now(self.request.source_date_epoch),
                created_by,
                empty_layer: false,
            },
            config: state.config.clone(),
        })
    }
}

impl BuildContext<'_> {
    /// A writable stand-in for a bind mount's source whose writes are discarded: an
    /// overlay on a directory, a copy of a file. Kept in `throwaways` until the step ends.
    fn throwaway_copy(
        &self,
        source: &std::path::Path,
        throwaways: &mut Vec<Mounted>,
    ) -> Result<std::path::PathBuf, BuildError> {
        let meta = fs::metadata(source).map_err(|e| {
            BuildError::Source(format!("bind mount source {}: {e}", source.display()))
        })?;
        let dir = self.step_dir("bind");
        if meta.is_dir() {
            let view = Mounted::throwaway(source, dir)?;
            let root = view.root.clone();
            throwaways.push(view);
            return Ok(root);
        }
        // A file: overlayfs layers are directories, so the stand-in is a copy; the step
        // directory (`upper`) is removed with the Mounted that owns it.
        let view = Mounted::throwaway_file_dir(dir)?;
        let copy = view.dir().join("file");
        fs::copy(source, &copy).map_err(|e| {
            BuildError::Source(format!("copy bind mount source {}: {e}", source.display()))
        })?;
        throwaways.push(view);
        Ok(copy)
    }
}

/// Whether the command line is a heredoc word alone (`<<EOF`, `<<-EOF`, `<<"EOF"`).
fn is_lone_heredoc(command: &str, name: &str) -> bool {
    let word = command.trim();
    let Some(rest) = word.strip_prefix("<<") else {
        return false;
    };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let unquoted = rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
        .unwrap_or(rest);
    unquoted == name
}

/// The files a runtime bind-mounts over `/etc` leave empty mount points in the upper
/// directory when the image lacks them; dockerd keeps those in its init layer, out of the
/// step's diff, and so does this builder. `/etc` itself goes too when it is left empty
/// and unchanged (`lower_etc`: its metadata before the step).
fn drop_mount_points(upper: &std::path::Path, lower_etc: Option<&fs::Metadata>) {
    use std::os::unix::fs::MetadataExt;
    let etc = upper.join("etc");
    let mut removed = false;
    for name in ["hosts", "hostname", "resolv.conf"] {
        let path = etc.join(name);
        let stub = fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0);
        if stub && fs::remove_file(&path).is_ok() {
            removed = true;
        }
    }
    let Ok(meta) = fs::symlink_metadata(&etc) else {
        return;
    };
    let empty = fs::read_dir(&etc).is_ok_and(|mut d| d.next().is_none());
    let unchanged = lower_etc
        .is_none_or(|l| l.mode() == meta.mode() && l.uid() == meta.uid() && l.gid() == meta.gid());
    if removed && empty && unchanged {
        let _ = fs::remove_dir(&etc);
    }
}
