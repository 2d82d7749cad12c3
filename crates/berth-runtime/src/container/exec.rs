//! `exec`: runs another process in a running container's namespaces and cgroup.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use crate::channel::{self, Channel, Message};
use crate::error::{Error, Result};
use crate::init::{close_fds_on_exec, fail, prepare_process, set_parent_death_signal};
use crate::namespaces::NamespacePlan;
use crate::seccomp::{self, SeccompProgram};
use crate::state::{StateRoot, Status};

use super::Container;

/// How to execute a process in a container.
#[derive(Debug)]
pub struct ExecOptions {
    /// The container id.
    pub id: String,
    /// The process (from `--process FILE`, or the container's process with overrides).
    pub process: Process,
    /// A connected console socket; required when `process.terminal` is true.
    pub console: Option<OwnedFd>,
    /// Where to write the new process's pid.
    pub pid_file: Option<PathBuf>,
    /// How many descriptors after stdio to pass.
    pub preserve_fds: i32,
}

/// The namespace files of a running container's init, for joining.
fn namespaces_of(container: &Container) -> NamespacePlan {
    let pid = container.state.pid;
    let mut plan = NamespacePlan::default();
    let namespaces = container
        .state
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    for ns in namespaces {
        let name = match ns.typ() {
            LinuxNamespaceType::Mount => "mnt",
            LinuxNamespaceType::Cgroup => "cgroup",
            LinuxNamespaceType::Uts => "uts",
            LinuxNamespaceType::Ipc => "ipc",
            LinuxNamespaceType::User => "user",
            LinuxNamespaceType::Pid => "pid",
            LinuxNamespaceType::Network => "net",
            LinuxNamespaceType::Time => "time",
        };
        let path = PathBuf::from(format!("/proc/{pid}/ns/{name}"));
        // Joining a namespace we are already in fails for user namespaces; skip all such.
        let ours = std::fs::metadata(format!("/proc/self/ns/{name}")).ok();
        let theirs = std::fs::metadata(&path).ok();
        if let (Some(a), Some(b)) = (&ours, &theirs) {
            use std::os::unix::fs::MetadataExt;
            if a.ino() == b.ino() && a.dev() == b.dev() {
                continue;
            }
        }
        plan.join.push((ns.typ(), path));
    }
    plan.join.sort_by_key(|(kind, _)| match kind {
        LinuxNamespaceType::User => 0,
        LinuxNamespaceType::Mount => 2,
        _ => 1,
    });
    plan
}

/// Starts `options.process` in container `options.id`; returns its host pid once it is
/// about to execute. The process is a child of the caller, who may wait for it.
pub fn exec(root: &StateRoot, options: ExecOptions) -> Result<Pid> {
    let container = Container::load(root, &options.id)?;
    container.require(&[Status::Created, Status::Running], "exec in it")?;
    let plan = namespaces_of(&container);
    let seccomp = container
        .state
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(seccomp::compile)
        .transpose()?;
    let terminal = options.process.terminal().unwrap_or(false);
    if terminal && options.console.is_none() {
        return Err(Error::Unsupported(
            "the process asks for a terminal: give --console-socket to receive it".into(),
        ));
    }
    let console = if terminal { options.console } else { None };
    let (parent_end, child_end) = channel::pair()?;
    let parent_fd = parent_end.as_raw_fd();
    let pid = super::spawn::spawn(&plan, || {
        // SAFETY: closes the child's copy of the parent's end, which it never uses.
        unsafe { libc::close(parent_fd) };
        exec_main(
            &child_end,
            &options.process,
            console.as_ref(),
            seccomp.as_ref(),
            options.preserve_fds,
        )
    })?;
    drop(child_end);
    drop(console);
    let joined = container.state.cgroup.add_process(pid.as_raw());
    if let Err(err) = joined {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
        return Err(err.into());
    }
    parent_end.send(&Message::Go)?;
    if let Err(failure) = parent_end.expect(&Message::Ready, "the process to be ready") {
        let _ = nix::sys::wait::waitpid(pid, None);
        return Err(failure.into());
    }
    if let Some(path) = &options.pid_file {
        super::write_pid_file(path, pid.as_raw())?;
    }
    Ok(pid)
}

fn exec_main(
    channel: &Channel,
    process: &oci_spec::runtime::Process,
    console: Option<&OwnedFd>,
    seccomp: Option<&SeccompProgram>,
    preserve_fds: i32,
) -> std::convert::Infallible {
    let result = (|| {
        set_parent_death_signal(Some(nix::sys::signal::Signal::SIGKILL))?;
        // The spec's `execCPUAffinity.initial` holds until the process joins the cgroup.
        crate::process::apply_initial_cpu_affinity(process)?;
        channel.expect(&Message::Go, "go")?;
        if console.is_some() {
            nix::unistd::setsid().map_err(Error::sys("setsid"))?;
        }
        close_fds_on_exec(3 + preserve_fds)?;
        let program = prepare_process(process, console, seccomp)?;
        set_parent_death_signal(None)?;
        channel.send(&Message::Ready)?;
        program.exec(seccomp)
    })();
    match result {
        Ok(never) => never,
        Err(err) => fail(channel, &err),
    }
}
