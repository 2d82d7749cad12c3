//! `berth runtime exec`: another process in a running container.

use std::path::PathBuf;

use anyhow::{bail, Context};
use berth_runtime::container::{self, Container, ExecOptions};
use berth_runtime::state::StateRoot;
use clap::Args;
use nix::unistd::Pid;
use oci_spec::runtime::{Capability, Process};

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// A JSON file with the process to run (the config's `process` shape).
    #[arg(long, short = 'p')]
    process: Option<PathBuf>,
    /// A unix socket that receives the pty master when a terminal is asked for.
    #[arg(long)]
    console_socket: Option<PathBuf>,
    /// Working directory inside the container.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Set an environment variable (KEY=VALUE), repeatable.
    #[arg(long, short = 'e')]
    env: Vec<String>,
    /// Allocate a terminal.
    #[arg(long, short = 't')]
    tty: bool,
    /// Run as uid[:gid].
    #[arg(long, short = 'u')]
    user: Option<String>,
    /// Supplementary group ids, repeatable.
    #[arg(long = "additional-gids", short = 'g')]
    additional_gids: Vec<u32>,
    /// Add a capability to every set, repeatable.
    #[arg(long, short = 'c')]
    cap: Vec<String>,
    /// Set no_new_privs.
    #[arg(long)]
    no_new_privs: bool,
    /// Return once the process started.
    #[arg(long, short = 'd')]
    detach: bool,
    /// Write the process's pid to this file.
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// Pass this many extra descriptors (from 3).
    #[arg(long, default_value_t = 0)]
    preserve_fds: i32,
    /// Accepted for runc compatibility (no SELinux support).
    #[arg(long)]
    process_label: Option<String>,
    /// Accepted for runc compatibility (no AppArmor support).
    #[arg(long)]
    apparmor: Option<String>,
    /// The container id.
    id: String,
    /// The program and its arguments (unless --process).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn run(root: &StateRoot, args: ExecArgs) -> anyhow::Result<i32> {
    let process = match &args.process {
        Some(path) => {
            let text = std::fs::read(path)
                .with_context(|| format!("read process file `{}`", path.display()))?;
            serde_json::from_slice(&text)
                .with_context(|| format!("parse process file `{}`", path.display()))?
        }
        None => inline_process(root, &args)?,
    };
    let console = args
        .console_socket
        .as_deref()
        .map(container::connect_console_socket)
        .transpose()?;
    let pid = container::exec(
        root,
        ExecOptions {
            id: args.id.clone(),
            process,
            console,
            pid_file: args.pid_file.clone(),
            preserve_fds: args.preserve_fds,
        },
    )?;
    if args.detach {
        return Ok(0);
    }
    let status = container::wait_forwarding_signals(Pid::from_raw(pid.as_raw()))?;
    Ok(container::exit_code(status))
}

/// The container's own process, with the command line's overrides.
fn inline_process(root: &StateRoot, args: &ExecArgs) -> anyhow::Result<Process> {
    if args.command.is_empty() {
        bail!("give the program to run after the container id, or --process FILE");
    }
    let container = Container::load(root, &args.id)?;
    let mut process = container.state.config.process().clone().unwrap_or_default();
    process.set_args(Some(args.command.clone()));
    process.set_terminal(Some(args.tty));
    let mut env = process.env().clone().unwrap_or_default();
    for entry in &args.env {
        let key = entry.split('=').next().unwrap_or(entry);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(entry.clone());
    }
    process.set_env(Some(env));
    if let Some(cwd) = &args.cwd {
        process.set_cwd(cwd.clone());
    }
    if let Some(user) = &args.user {
        let (uid, gid) = user.split_once(':').unwrap_or((user, ""));
        let mut spec_user = process.user().clone();
        spec_user.set_uid(
            uid.parse()
                .with_context(|| format!("--user `{user}`: uid must be a number"))?,
        );
        if !gid.is_empty() {
            spec_user.set_gid(
                gid.parse()
                    .with_context(|| format!("--user `{user}`: gid must be a number"))?,
            );
        }
        process.set_user(spec_user);
    }
    if !args.additional_gids.is_empty() {
        let mut spec_user = process.user().clone();
        spec_user.set_additional_gids(Some(args.additional_gids.clone()));
        process.set_user(spec_user);
    }
    if args.no_new_privs {
        process.set_no_new_privileges(Some(true));
    }
    if !args.cap.is_empty() {
        let mut caps = process.capabilities().clone().unwrap_or_default();
        for name in &args.cap {
            let upper = name.to_ascii_uppercase();
            let full = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            let cap: Capability = serde_json::from_value(serde_json::Value::String(full))
                .map_err(|_| anyhow::anyhow!("unknown capability `{name}`"))?;
            let add = |set: &Option<oci_spec::runtime::Capabilities>| {
                let mut set = set.clone().unwrap_or_default();
                set.insert(cap);
                Some(set)
            };
            caps.set_bounding(add(caps.bounding()));
            caps.set_effective(add(caps.effective()));
            caps.set_permitted(add(caps.permitted()));
            caps.set_inheritable(add(caps.inheritable()));
            caps.set_ambient(add(caps.ambient()));
        }
        process.set_capabilities(Some(caps));
    }
    Ok(process)
}
