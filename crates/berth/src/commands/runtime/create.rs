//! `berth runtime create`.

use std::path::PathBuf;

use berth_runtime::container::{self, CreateOptions};
use berth_runtime::state::StateRoot;
use clap::Args;

/// Flags of `create` (and of `run`, which adds its own).
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The bundle directory (default: the current directory).
    #[arg(long, short = 'b', default_value = ".")]
    pub bundle: PathBuf,
    /// A unix socket that receives the pty master when `process.terminal` is true.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Write the init's pid to this file.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot_root (for a root on a ramdisk).
    #[arg(long)]
    pub no_pivot: bool,
    /// Accepted for runc compatibility: berth never creates a session keyring.
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass this many extra descriptors (from 3) to the container.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
    /// The container id.
    pub id: String,
}

impl CreateArgs {
    /// The library's options.
    pub fn options(&self, start_immediately: bool) -> anyhow::Result<CreateOptions> {
        let console = self
            .console_socket
            .as_deref()
            .map(container::connect_console_socket)
            .transpose()?;
        let listen_fds = std::env::var("LISTEN_FDS")
            .ok()
            .and_then(|n| n.parse::<i32>().ok());
        Ok(CreateOptions {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            console,
            pid_file: self.pid_file.clone(),
            no_pivot: self.no_pivot,
            preserve_fds: self.preserve_fds + listen_fds.unwrap_or(0),
            start_immediately,
        })
    }
}

pub fn run(root: &StateRoot, args: CreateArgs) -> anyhow::Result<i32> {
    container::create(root, args.options(false)?)?;
    Ok(0)
}
