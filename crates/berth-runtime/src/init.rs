//! The code that runs in the container's new process, between clone(2) and execve(2).
//!
//! It runs in a forked copy of a single-threaded runtime process, so it may allocate, but
//! it must never return into the caller's code: every path ends in `execve` or `_exit`.
//! Failures are sent to the parent over the set-up [`Channel`] as text, and the parent
//! reports them and cleans up.
//!
//! Order (the spec's, and runc's):
//! 1. wait for the parent to write uid/gid maps and join the cgroup;
//! 2. become root of a new user namespace; new session; hostname and domainname;
//! 3. mounts (before pivot_root); prestart and createRuntime hooks run by the parent;
//!    createContainer hooks run here;
//! 4. pivot_root, masked and readonly paths, sysctls, terminal, cwd;
//! 5. seccomp (early, unless noNewPrivileges), rlimits, capabilities, user;
//! 6. tell the parent we are ready; wait for `start` on the exec socket;
//! 7. startContainer hooks, seccomp (late, with noNewPrivileges), execve.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::Path;

use nix::unistd::{execve, setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::{Process, Spec};

use crate::channel::{Channel, Message};
use crate::error::{chain, Error, Result};
use crate::namespaces::NamespacePlan;
use crate::seccomp::SeccompProgram;
use crate::state::OciState;
use crate::{console, hooks, process, rootfs};

/// Everything the container's init needs, prepared by the parent before cloning.
pub(crate) struct InitConfig<'a> {
    pub spec: &'a Spec,
    pub process: &'a Process,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    pub plan: &'a NamespacePlan,
    pub channel: &'a Channel,
    /// `None` when the program starts at once (`run`).
    pub exec_listener: Option<&'a UnixListener>,
    pub console: Option<&'a OwnedFd>,
    pub seccomp: Option<&'a SeccompProgram>,
    pub no_pivot: bool,
    pub preserve_fds: RawFd,
    /// The state given to createContainer and startContainer hooks.
    pub hook_state: OciState,
}

/// Runs the init; never returns.
pub(crate) fn init_main(config: InitConfig<'_>) -> ! {
    let err = match init(&config) {
        Ok(never) => match never {},
        Err(err) => err,
    };
    fail(config.channel, &err)
}

/// Reports `err` to the parent and exits.
pub(crate) fn fail(channel: &Channel, err: &Error) -> ! {
    let _ = channel.send(&Message::Error(chain(err)));
    // SAFETY: _exit ends this forked process without running the parent's atexit handlers
    // or flushing buffers that belong to the parent.
    unsafe { libc::_exit(1) }
}

fn init(config: &InitConfig<'_>) -> Result<std::convert::Infallible> {
    // Die with the runtime while being set up; cleared once set-up is done.
    set_parent_death_signal(Some(nix::sys::signal::Signal::SIGKILL))?;
    config.channel.expect(&Message::Go, "go")?;
    if config.plan.new_user() {
        become_root()?;
    }
    if config.plan.new_cgroup_after_join {
        // Only now is this process in its cgroup, which becomes the namespace's root.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .map_err(Error::sys("create the cgroup namespace"))?;
    }
    nix::unistd::setsid().map_err(Error::sys("setsid"))?;
    if let Some(hostname) = config.spec.hostname() {
        nix::unistd::sethostname(hostname)
            .map_err(Error::sys(format!("set hostname `{hostname}`")))?;
    }
    if let Some(domainname) = config.spec.domainname() {
        set_domainname(domainname)?;
    }
    // Relative bind-mount sources are relative to the bundle, as with runc.
    std::env::set_current_dir(config.bundle).map_err(|source| Error::Io {
        what: "enter the bundle",
        path: config.bundle.to_path_buf(),
        source,
    })?;
    if config.plan.new_mount() {
        rootfs::prepare(
            config.spec,
            config.rootfs,
            config.bundle,
            config.plan.in_user_ns(),
        )?;
    }
    let spec_hooks = config.spec.hooks().as_ref();
    if has_create_runtime_hooks(config.spec) {
        config.channel.send(&Message::RunCreateRuntimeHooks)?;
        config.channel.expect(&Message::HooksDone, "hooks done")?;
    }
    if let Some(list) = spec_hooks.and_then(|h| h.create_container().as_ref()) {
        hooks::run("createContainer", list, &config.hook_state)?;
    }
    close_fds_on_exec(3 + config.preserve_fds)?;
    if config.plan.new_mount() {
        rootfs::pivot(config.rootfs, config.no_pivot)?;
    }
    // Before `finish`, which makes /proc/sys read-only.
    write_sysctls(config.spec)?;
    if config.plan.new_mount() {
        rootfs::finish(config.spec)?;
    }
    let program = prepare_process(config.process, config.console, config.seccomp)?;
    set_parent_death_signal(None)?;
    config.channel.send(&Message::Ready)?;
    let start = match config.exec_listener {
        Some(listener) => Some(wait_for_start(listener)?),
        None => None,
    };
    let result = (|| {
        if let Some(list) = spec_hooks.and_then(|h| h.start_container().as_ref()) {
            let mut state = config.hook_state.clone();
            state.status = crate::state::Status::Created;
            hooks::run("startContainer", list, &state)?;
        }
        program.exec(config.seccomp)
    })();
    // Only failures reach here: tell whoever called `start`, then the parent if it waits.
    let err = match result {
        Ok(never) => match never {},
        Err(err) => err,
    };
    match start {
        Some(mut conn) => {
            let _ = conn.write_all(chain(&err).as_bytes());
        }
        // Started at once (`run`): nobody listens on the channel any more, but the
        // caller's stderr is still this process's.
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "berth: container start failed: {}",
                chain(&err)
            );
        }
    }
    Err(err)
}

/// Whether the parent must run prestart/createRuntime hooks in the middle of set-up.
pub(crate) fn has_create_runtime_hooks(spec: &Spec) -> bool {
    spec.hooks().as_ref().is_some_and(|h| {
        h.prestart().as_ref().is_some_and(|l| !l.is_empty())
            || h.create_runtime().as_ref().is_some_and(|l| !l.is_empty())
    })
}

/// A program ready to execute: identity applied, arguments resolved.
pub(crate) struct Program {
    path: CString,
    args: Vec<CString>,
    env: Vec<CString>,
    no_new_privileges: bool,
}

/// Terminal, cwd, early seccomp, rlimits, capabilities and user; returns the program.
///
/// With `noNewPrivileges` the seccomp filter is loaded last, in [`Program::exec`], so that
/// it need not allow the runtime's own set-up calls. Without it, loading a filter needs
/// CAP_SYS_ADMIN, which the process may be about to drop, so it is loaded here, first.
pub(crate) fn prepare_process(
    process: &Process,
    console: Option<&OwnedFd>,
    seccomp: Option<&SeccompProgram>,
) -> Result<Program> {
    if let Some(socket) = console {
        console::setup(socket)?;
    }
    let cwd = process.cwd();
    if !cwd.as_os_str().is_empty() {
        std::fs::create_dir_all(cwd)
            .and_then(|()| std::env::set_current_dir(cwd))
            .map_err(|source| Error::Io {
                what: "enter the working directory",
                path: cwd.clone(),
                source,
            })?;
    }
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", process::home_dir(process.user().uid())));
    }
    let args = process.args().clone().unwrap_or_default();
    let first = args
        .first()
        .ok_or_else(|| Error::Unsupported("`process.args` is empty".into()))?;
    let path = find_program(first, &env)?;
    let no_new_privileges = process.no_new_privileges().unwrap_or(false);
    let program = Program {
        path: cstring(path.as_bytes())?,
        args: args
            .iter()
            .map(|a| cstring(a.as_bytes()))
            .collect::<Result<_>>()?,
        env: env
            .iter()
            .map(|e| cstring(e.as_bytes()))
            .collect::<Result<_>>()?,
        no_new_privileges,
    };
    if no_new_privileges {
        process::set_no_new_privileges()?;
    } else if let Some(filter) = seccomp {
        filter.load()?;
    }
    process::apply_process_security(process)?;
    Ok(program)
}

impl Program {
    /// Loads the seccomp filter if it was left for last, and executes the program.
    pub(crate) fn exec(
        &self,
        seccomp: Option<&SeccompProgram>,
    ) -> Result<std::convert::Infallible> {
        // Signals blocked by the runtime must not stay blocked in the program.
        let _ = nix::sys::signal::sigprocmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&nix::sys::signal::SigSet::empty()),
            None,
        );
        if let Some(filter) = seccomp.filter(|_| self.no_new_privileges) {
            filter.load()?;
        }
        execve(&self.path, &self.args, &self.env).map_err(Error::sys(format!(
            "exec `{}`",
            self.path.to_string_lossy()
        )))
    }
}

fn cstring(bytes: &[u8]) -> Result<CString> {
    CString::new(bytes)
        .map_err(|_| Error::Unsupported("an argument or variable holds a NUL byte".into()))
}

/// Resolves `name` on the container's PATH (from its environment), as execvp would.
fn find_program(name: &str, env: &[String]) -> Result<String> {
    if name.contains('/') {
        return match nix::unistd::access(name, nix::unistd::AccessFlags::X_OK) {
            Ok(()) => Ok(name.to_string()),
            Err(errno) => Err(Error::Setup(format!("exec: `{name}`: {}", errno.desc()))),
        };
    }
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(name);
        if nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK).is_ok()
            && !candidate.is_dir()
        {
            return Ok(candidate.to_string_lossy().into_owned());
        }
    }
    Err(Error::Setup(format!(
        "exec: `{name}`: executable file not found in $PATH ({path_var})"
    )))
}

fn become_root() -> Result<()> {
    setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .map_err(Error::sys("become gid 0 in the user namespace"))?;
    setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
        .map_err(Error::sys("become uid 0 in the user namespace"))
}

fn set_domainname(name: &str) -> Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes, valid for the call.
    let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    nix::errno::Errno::result(rc)
        .map(drop)
        .map_err(Error::sys(format!("set domainname `{name}`")))
}

pub(crate) fn set_parent_death_signal(signal: Option<nix::sys::signal::Signal>) -> Result<()> {
    nix::sys::prctl::set_pdeathsig(signal).map_err(Error::sys("set the parent death signal"))
}

/// Marks every descriptor from `first` on close-on-exec, so nothing of the runtime's
/// leaks into the container but stdio and the descriptors the caller asked to pass.
pub(crate) fn close_fds_on_exec(first: RawFd) -> Result<()> {
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map_err(|source| Error::Io {
            what: "list open descriptors",
            path: "/proc/self/fd".into(),
            source,
        })?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first)
        .collect();
    for fd in fds {
        // SAFETY: F_SETFD only changes a flag; an fd that closed meanwhile gives EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

fn write_sysctls(spec: &Spec) -> Result<()> {
    let sysctls = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref());
    for (key, value) in sysctls.into_iter().flatten() {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value).map_err(|source| Error::Io {
            what: "write sysctl",
            path,
            source,
        })?;
    }
    Ok(())
}

/// Blocks until `start` connects; returns the connection (close-on-exec, so the caller
/// sees EOF once execve succeeds).
fn wait_for_start(listener: &UnixListener) -> Result<std::os::unix::net::UnixStream> {
    loop {
        match listener.accept() {
            Ok((stream, _)) => return Ok(stream),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(Error::Io {
                    what: "wait for start on",
                    path: crate::state::EXEC_SOCKET.into(),
                    source,
                })
            }
        }
    }
}
