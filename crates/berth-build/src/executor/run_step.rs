//! RUN: the command (shell form wrapped in SHELL, heredocs handed to the shell), its
//! environment (the config's Env plus the build args in scope, which are not persisted),
//! its mounts, run by the [`StepRunner`](super::StepRunner) on a writable overlay; the
//! upper directory becomes the step's layer.

use std::collections::HashMap;
use std::fs;

use tokio::sync::mpsc;

use super::cache::{Cache, StepRecord};
use super::config;
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
        // `RUN <<EOF` alone whose body starts with `#!`: BuildKit runs the body as a
        // program (the kernel reads its interpreter line), from a file in `/dev/pipes/`.
        let mut script_file = None;
        let (argv, shown) = match command {
            ShellOrExec::Shell(s) => match heredocs.as_slice() {
                [only] if is_lone_heredoc(s, &only.name) && only.content.starts_with("#!") => {
                    let target = format!("/dev/pipes/{}", only.name);
                    script_file = Some((target.clone(), only.content.clone()));
                    (vec![target], s.clone())
                }
                _ => {
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
            },
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
        if let Some((target, content)) = script_file {
            let home = Mounted::throwaway_file_dir(self.step_dir("heredoc"))?;
            let file = home.dir().join("script");
            write_script(&file, &content)?;
            throwaways.push(home);
            run_mounts.push(RunMount {
                source: file,
                target,
                read_only: true,
            });
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
        // The files the runtime binds over /etc leave mount points too when the image
        // lacks them; dockerd keeps those in its init layer, out of the step's diff.
        let stubs: Vec<MountStub> = step
            .mounts
            .iter()
            .map(|m| m.target.as_str())
            .chain(["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"])
            .filter_map(|target| MountStub::find(&mounted.root, target))
            .collect();
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
            for stub in &stubs {
                stub.drop_from(upper);
            }
        }
        self.commit_step(mounted, &state.layers, created_by, state.config.clone())
            .await
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

/// A mount point the runtime will make for a RUN mount: the target, the highest of its
/// paths missing before the step, and the directories above that (with their metadata
/// before the step), which the overlay copies up when the stub is made.
struct MountStub {
    target: String,
    missing: String,
    existing: Vec<(String, fs::Metadata)>,
}

impl MountStub {
    /// None when the target exists before the step (nothing is made).
    fn find(root: &std::path::Path, target: &str) -> Option<MountStub> {
        let mut path = String::new();
        let mut existing = Vec::new();
        for part in target.split('/').filter(|p| !p.is_empty() && *p != ".") {
            path.push('/');
            path.push_str(part);
            match fs::symlink_metadata(resolve_in_root(root, &path)) {
                Ok(meta) => existing.push((path.clone(), meta)),
                Err(_) => {
                    return Some(MountStub {
                        target: target.trim_end_matches('/').to_string(),
                        missing: path,
                        existing,
                    })
                }
            }
        }
        None
    }

    /// Removes from the step's diff the mount point (an empty file or directory), the
    /// empty directories made above it, and the unchanged, empty copies-up of the
    /// directories above those: BuildKit keeps mount points out of the layer. Whatever
    /// the step wrote there stays.
    fn drop_from(&self, upper: &std::path::Path) {
        use std::os::unix::fs::MetadataExt;
        let full = |path: &str| upper.join(path.trim_start_matches('/'));
        let mut made: Vec<&str> = Vec::new();
        let mut path = self.target.as_str();
        loop {
            made.push(path);
            if path.len() <= self.missing.len() {
                break;
            }
            match path.rfind('/') {
                Some(i) if i > 0 => path = &path[..i],
                _ => break,
            }
        }
        for path in made {
            let full = full(path);
            let Ok(meta) = fs::symlink_metadata(&full) else {
                return;
            };
            let removed = if meta.is_dir() {
                fs::remove_dir(&full).is_ok()
            } else {
                path == self.target
                    && meta.is_file()
                    && meta.len() == 0
                    && fs::remove_file(&full).is_ok()
            };
            if !removed {
                return;
            }
        }
        for (path, before) in self.existing.iter().rev() {
            let full = full(path);
            let Ok(meta) = fs::symlink_metadata(&full) else {
                return;
            };
            let unchanged = meta.is_dir()
                && meta.mode() == before.mode()
                && meta.uid() == before.uid()
                && meta.gid() == before.gid()
                && !matches!(xattr::get(&full, "trusted.overlay.opaque"), Ok(Some(_)));
            if !unchanged || fs::remove_dir(&full).is_err() {
                return;
            }
        }
    }
}

/// Writes a heredoc program, executable.
fn write_script(path: &std::path::Path, content: &str) -> Result<(), BuildError> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |e: std::io::Error| BuildError::Other(format!("write {}: {e}", path.display()));
    fs::write(path, content).map_err(fail)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(fail)
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
