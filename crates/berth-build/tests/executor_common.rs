//! Shared by the executor tests: a data root with busybox imported, a StepRunner that
//! really runs a step (chroot into the step's rootfs), and a build helper.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use berth_build::executor::{
    BuildError, BuildEvent, BuildRequest, BuildResult, Builder, RunFuture, RunStep, StepRunner,
};
use berth_image::layer::Snapshotter;
use berth_image::reference::Reference;
use berth_image::store::ImageStore;
use tokio::sync::mpsc;

#[derive(Debug)]
pub struct Env {
    pub dir: tempfile::TempDir,
    pub data_root: PathBuf,
    pub context: PathBuf,
    pub builder: Builder,
    pub images: ImageStore,
    pub snapshots: Snapshotter,
}

pub fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let data_root = dir.path().join("data");
    let context = dir.path().join("context");
    std::fs::create_dir_all(&context).unwrap();
    let images = ImageStore::open(&data_root).unwrap();
    let snapshots = Snapshotter::open(&data_root).unwrap().with_sync(false);
    let tar = berth_testkit::busybox::rootfs_tar(dir.path());
    let file = std::fs::File::open(tar).unwrap();
    berth_image::archive::import(
        &images,
        BufReader::new(file),
        Some(&Reference::parse("busybox:latest").unwrap()),
        &berth_image::archive::ConfigChanges::default(),
    )
    .unwrap();
    let builder = Builder::new(data_root.clone(), images.clone(), snapshots.clone());
    Env {
        dir,
        data_root,
        context,
        builder,
        images,
        snapshots,
    }
}

impl Env {
    pub fn write(&self, rel: &str, content: &str) {
        let path = self.context.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn request(&self, dockerfile: &str) -> BuildRequest {
        BuildRequest {
            context: self.context.clone(),
            dockerfile: dockerfile.to_string(),
            dockerfile_name: "Dockerfile".into(),
            network: "none".into(),
            ..BuildRequest::default()
        }
    }

    pub async fn build(
        &self,
        request: BuildRequest,
    ) -> (Result<BuildResult, BuildError>, Vec<BuildEvent>) {
        let (tx, mut rx) = mpsc::channel(1024);
        let collect = async move {
            let mut events = Vec::new();
            while let Some(e) = rx.recv().await {
                events.push(e);
            }
            events
        };
        let (result, events) = tokio::join!(
            async move { self.builder.build(request, &Chroot, tx).await },
            collect
        );
        (result, events)
    }

    /// The image's config document.
    pub fn config(&self, id: &str) -> serde_json::Value {
        let image = self.images.get(id).unwrap();
        let bytes = self
            .images
            .content()
            .read_blob(&image.config_digest, 1 << 20)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Runs `sh -c script` in a container-less chroot of the image's flattened layers.
    pub fn run_in(&self, id: &str, script: &str) -> String {
        let image = self.images.get(id).unwrap();
        let root = self.dir.path().join(format!("flat-{}", rand_name()));
        std::fs::create_dir_all(&root).unwrap();
        for layer in &image.layers {
            let digest = berth_image::manifest::descriptor_digest(layer).unwrap();
            let blob = self.images.content().open_blob(&digest).unwrap();
            berth_image::layer::apply(
                BufReader::new(blob),
                &root,
                &berth_image::layer::UnpackOptions::default(),
            )
            .unwrap();
        }
        let out = chroot_command(&root, "/", &["/bin/sh", "-c", script], &[])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn rand_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// The overlay mounts under `dir` still mounted.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let prefix = dir.to_string_lossy().into_owned();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

/// What a step's process gets besides its root: a network namespace of its own, bind
/// mounts (host source, host target under the root, read-only), a user.
#[derive(Debug, Default)]
struct Setup {
    isolate_network: bool,
    binds: Vec<(PathBuf, PathBuf, bool)>,
    owner: Option<(u32, u32)>,
}

fn chroot_command(root: &Path, cwd: &str, argv: &[&str], env: &[String]) -> Command {
    chroot_command_with(root, cwd, argv, env, Setup::default())
}

fn chroot_command_with(
    root: &Path,
    cwd: &str,
    argv: &[&str],
    env: &[String],
    setup: Setup,
) -> Command {
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]).env_clear();
    for e in env {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        cmd.env("PATH", "/bin:/usr/bin:/sbin:/usr/sbin");
    }
    let root = root.to_path_buf();
    let cwd = cwd.to_string();
    // SAFETY: unshare, mount, chroot, chdir, setgroups, setgid and setuid are system
    // calls; the paths were made before the fork and nothing else is allocated.
    unsafe {
        cmd.pre_exec(move || {
            use nix::mount::{mount, MsFlags};
            use nix::sched::{unshare, CloneFlags};
            let err = std::io::Error::from;
            if setup.isolate_network {
                unshare(CloneFlags::CLONE_NEWNET).map_err(err)?;
            }
            if !setup.binds.is_empty() {
                unshare(CloneFlags::CLONE_NEWNS).map_err(err)?;
                let none: Option<&str> = None;
                mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).map_err(err)?;
                for (source, target, read_only) in &setup.binds {
                    mount(Some(source), target, none, MsFlags::MS_BIND, none).map_err(err)?;
                    if *read_only {
                        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
                        mount(none, target, none, flags, none).map_err(err)?;
                    }
                }
            }
            nix::unistd::chroot(&root).map_err(err)?;
            nix::unistd::chdir(cwd.as_str()).map_err(err)?;
            if let Some((uid, gid)) = setup.owner {
                nix::unistd::setgroups(&[]).map_err(err)?;
                nix::unistd::setgid(nix::unistd::Gid::from_raw(gid)).map_err(err)?;
                nix::unistd::setuid(nix::unistd::Uid::from_raw(uid)).map_err(err)?;
            }
            Ok(())
        });
    }
    cmd
}

/// Runs a RUN step for real: a chroot into the step's rootfs (a test stand-in for the
/// engine's container runner). It honours what a step asks that the tests observe: the
/// user (looked up in the rootfs's /etc/passwd and /etc/group), `none` networking (a new,
/// empty network namespace) and the `--mount` binds (in a mount namespace of the step's
/// own, so they vanish with it).
#[derive(Debug)]
pub struct Chroot;

/// `user[:group]` as numbers, from the rootfs's files where names are given.
fn resolve_user(rootfs: &Path, spec: &str) -> Option<(u32, u32)> {
    if spec.is_empty() {
        return None;
    }
    let lookup = |file: &str, name: &str, field: usize| -> Option<u32> {
        if let Ok(n) = name.parse() {
            return Some(n);
        }
        let text = std::fs::read_to_string(rootfs.join(file)).ok()?;
        text.lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > field && f[0] == name)
            .and_then(|f| f[field].parse().ok())
    };
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let uid = lookup("etc/passwd", user, 2)?;
    let gid = match group {
        Some(g) => lookup("etc/group", g, 2)?,
        None => lookup("etc/passwd", user, 3).unwrap_or(0),
    };
    Some((uid, gid))
}

impl StepRunner for Chroot {
    fn run<'a>(&'a self, step: RunStep, output: mpsc::Sender<String>) -> RunFuture<'a> {
        Box::pin(async move {
            let result = tokio::task::spawn_blocking(move || {
                let argv: Vec<&str> = step.argv.iter().map(String::as_str).collect();
                let mut setup = Setup {
                    isolate_network: step.network == "none",
                    owner: resolve_user(&step.rootfs, &step.user),
                    binds: Vec::new(),
                };
                for m in &step.mounts {
                    let target = step.rootfs.join(m.target.trim_start_matches('/'));
                    if m.source.is_dir() {
                        std::fs::create_dir_all(&target).unwrap();
                    } else {
                        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                        std::fs::write(&target, "").unwrap();
                    }
                    setup.binds.push((m.source.clone(), target, m.read_only));
                }
                let mut cmd =
                    chroot_command_with(&step.rootfs, &step.working_dir, &argv, &step.env, setup);
                let mut child = cmd
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .map_err(|e| BuildError::Other(format!("spawn: {e}")))?;
                for line in BufReader::new(child.stdout.take().unwrap()).lines() {
                    let _ = output.blocking_send(line.unwrap_or_default());
                }
                let status = child.wait().map_err(|e| BuildError::Other(e.to_string()))?;
                Ok(status.code().unwrap_or(128))
            })
            .await
            .map_err(|e| BuildError::Other(e.to_string()))?;
            result
        })
    }
}

pub fn cache_hits(events: &[BuildEvent]) -> usize {
    events
        .iter()
        .filter(|e| **e == BuildEvent::CacheHit)
        .count()
}

pub fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, Option<String>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Some(v.to_string())))
        .collect()
}
