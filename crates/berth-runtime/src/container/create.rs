//! `create`: a container whose init waits for `start` (or, for `run`, starts at once).

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxIdMapping;

use crate::cgroups::CgroupManager;
use crate::channel::{self, Message};
use crate::error::{Error, Result};
use crate::init::{has_create_runtime_hooks, init_main, InitConfig};
use crate::namespaces::NamespacePlan;
use crate::state::{
    now_rfc3339, read_stat, ContainerState, OciState, StateRoot, Status, EXEC_SOCKET, OCI_VERSION,
};
use crate::{hooks, seccomp, spec};

/// How to create a container.
#[derive(Debug, Default)]
pub struct CreateOptions {
    /// The container id.
    pub id: String,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// A connected console socket (see [`super::connect_console_socket`]); required when
    /// `process.terminal` is true.
    pub console: Option<OwnedFd>,
    /// Where to write the init's pid.
    pub pid_file: Option<PathBuf>,
    /// Use a move mount and chroot instead of pivot_root (for ramdisk roots).
    pub no_pivot: bool,
    /// How many descriptors after stdio to pass to the container.
    pub preserve_fds: i32,
    /// Start the program at once (runc's `run`): no exec socket and no separate `start`.
    pub start_immediately: bool,
}

/// Removes what a failed `create` made.
struct Cleanup<'a> {
    root: &'a StateRoot,
    id: &'a str,
    cgroup: Option<CgroupManager>,
    pid: Option<Pid>,
    armed: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.pid {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        if let Some(cgroup) = &self.cgroup {
            let _ = cgroup.destroy();
        }
        let _ = self.root.remove(self.id);
    }
}

/// Creates container `options.id` from its bundle. Returns its recorded state.
pub fn create(root: &StateRoot, options: CreateOptions) -> Result<ContainerState> {
    spec::validate_id(&options.id)?;
    let bundle = spec::load_bundle(&options.bundle)?;
    let spec = &bundle.spec;
    let process = spec.process().as_ref().ok_or(spec::SpecError::NoProcess)?;
    let plan = NamespacePlan::of(spec)?;
    let linux = spec.linux().as_ref();
    let seccomp = linux
        .and_then(|l| l.seccomp().as_ref())
        .map(seccomp::compile)
        .transpose()?;
    let terminal = process.terminal().unwrap_or(false);
    if terminal && options.console.is_none() {
        return Err(Error::Unsupported(
            "`process.terminal` is true: give --console-socket to receive the terminal".into(),
        ));
    }
    let console = if terminal { options.console } else { None };

    let dir = root.reserve(&options.id)?;
    let mut cleanup = Cleanup {
        root,
        id: &options.id,
        cgroup: None,
        pid: None,
        armed: true,
    };
    let cgroups_path = linux.and_then(|l| l.cgroups_path().as_deref());
    let cgroup = CgroupManager::new(cgroups_path, &options.id)?;
    cgroup.create()?;
    cleanup.cgroup = Some(cgroup.clone());
    cgroup.apply(&super::devices::effective_resources(spec))?;
    let listener = if options.start_immediately {
        None
    } else {
        let (_dir_handle, path) = crate::state::socket_path(&dir, EXEC_SOCKET)?;
        Some(UnixListener::bind(&path).map_err(|source| Error::Io {
            what: "create the exec socket",
            path: dir.join(EXEC_SOCKET),
            source,
        })?)
    };

    let mut hook_state = OciState {
        oci_version: OCI_VERSION.to_string(),
        id: options.id.clone(),
        status: Status::Creating,
        pid: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: now_rfc3339(),
        owner: "root".into(),
        annotations: spec.annotations().clone().unwrap_or_default(),
    };
    let (parent_end, child_end) = channel::pair()?;
    let parent_fd = parent_end.as_raw_fd();
    let pid = super::spawn::spawn(&plan, || {
        // SAFETY: closes this child's copy of the parent's end, which it never uses, so
        // that the parent sees EOF if the child dies.
        unsafe { libc::close(parent_fd) };
        let mut hook_state = hook_state.clone();
        hook_state.pid = host_pid_of_self();
        init_main(InitConfig {
            spec,
            process,
            rootfs: &bundle.rootfs,
            bundle: &bundle.dir,
            plan: &plan,
            channel: &child_end,
            exec_listener: listener.as_ref(),
            console: console.as_ref(),
            seccomp: seccomp.as_ref(),
            no_pivot: options.no_pivot,
            preserve_fds: options.preserve_fds,
            hook_state,
        })
    })?;
    cleanup.pid = Some(pid);
    drop(child_end);
    drop(console);
    drop(listener);
    hook_state.pid = pid.as_raw();

    if plan.new_user() {
        if let Some(linux) = linux {
            write_id_map(
                pid,
                "uid_map",
                linux.uid_mappings().as_deref().unwrap_or_default(),
            )?;
            write_id_map(
                pid,
                "gid_map",
                linux.gid_mappings().as_deref().unwrap_or_default(),
            )?;
        }
    }
    cgroup.add_process(pid.as_raw())?;
    if let Some(score) = process.oom_score_adj() {
        let path = PathBuf::from(format!("/proc/{pid}/oom_score_adj"));
        std::fs::write(&path, score.to_string()).map_err(|source| Error::Io {
            what: "set oomScoreAdj",
            path,
            source,
        })?;
    }
    parent_end.send(&Message::Go)?;
    if has_create_runtime_hooks(spec) {
        parent_end.expect(&Message::RunCreateRuntimeHooks, "the hooks request")?;
        let hooks = spec.hooks().as_ref();
        if let Some(list) = hooks.and_then(|h| h.prestart().as_ref()) {
            hooks::run("prestart", list, &hook_state)?;
        }
        if let Some(list) = hooks.and_then(|h| h.create_runtime().as_ref()) {
            hooks::run("createRuntime", list, &hook_state)?;
        }
        parent_end.send(&Message::HooksDone)?;
    }
    parent_end.expect(&Message::Ready, "the container to be ready")?;
    if options.start_immediately {
        // `run`: after Ready the init runs the startContainer hooks and executes the
        // program. The channel is close-on-exec, so its end means the program runs (or the
        // init failed and exited): only then may `run` go on to the poststart hooks, which
        // the spec orders after the program's start.
        let _ = parent_end.recv("the program to start");
    }

    let (_, pid_start_time) = read_stat(pid.as_raw())
        .ok_or_else(|| Error::Setup("the container's init exited during set-up".into()))?;
    let state = ContainerState {
        id: options.id.clone(),
        pid: pid.as_raw(),
        pid_start_time,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: hook_state.created.clone(),
        owner: hook_state.owner.clone(),
        cgroup,
        config: bundle.spec.clone(),
    };
    root.save(&state)?;
    if let Some(path) = &options.pid_file {
        super::write_pid_file(path, pid.as_raw())?;
    }
    cleanup.armed = false;
    Ok(state)
}

/// This process's pid in the host's pid namespace, read before pivot_root through the
/// host's /proc (whose `self` link resolves in the namespace /proc was mounted in).
fn host_pid_of_self() -> i32 {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str()?.parse().ok())
        .unwrap_or(0)
}

fn write_id_map(pid: Pid, file: &str, mappings: &[LinuxIdMapping]) -> Result<()> {
    let text: String = mappings
        .iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect();
    let path = Path::new("/proc").join(pid.to_string()).join(file);
    std::fs::write(&path, text).map_err(|source| Error::Io {
        what: "write the user namespace mapping",
        path,
        source,
    })
}
