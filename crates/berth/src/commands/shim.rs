//! `berth shim`: the per-container supervisor the daemon starts (not for users). Its flags
//! are written by `berth_shim::ShimArgs::to_flags`; keep the two in step.

use std::path::PathBuf;

use berth_shim::ShimArgs;
use clap::Args;

/// The flags of `berth shim` (see `berth_shim::ShimArgs`).
#[derive(Debug, Args)]
pub struct ShimCommandArgs {
    /// The container id.
    #[arg(long)]
    pub id: String,
    /// The OCI bundle.
    #[arg(long)]
    pub bundle: PathBuf,
    /// The runtime's state root.
    #[arg(long)]
    pub runtime_root: PathBuf,
    /// The shim's state directory (socket, pid and exit files).
    #[arg(long)]
    pub state_dir: PathBuf,
    /// The json-file log (none: output is not logged).
    #[arg(long)]
    pub log_path: Option<PathBuf>,
    /// Rotate the log past this many bytes.
    #[arg(long)]
    pub log_max_size: Option<u64>,
    /// How many log files to keep, the live one included.
    #[arg(long, default_value_t = 1)]
    pub log_max_files: u32,
    /// Give the container a pty.
    #[arg(long)]
    pub tty: bool,
    /// Keep the container's stdin open for attach.
    #[arg(long)]
    pub open_stdin: bool,
    /// Close the container's stdin when the first attached client ends its input.
    #[arg(long)]
    pub stdin_once: bool,
}

impl From<ShimCommandArgs> for ShimArgs {
    fn from(args: ShimCommandArgs) -> Self {
        ShimArgs {
            id: args.id,
            bundle: args.bundle,
            runtime_root: args.runtime_root,
            state_dir: args.state_dir,
            log_path: args.log_path,
            log_max_size: args.log_max_size,
            log_max_files: args.log_max_files,
            tty: args.tty,
            open_stdin: args.open_stdin,
            stdin_once: args.stdin_once,
        }
    }
}

/// Runs the shim; returns its exit code (the first process returns 0 at once; the shim
/// proper returns only if it failed to start).
pub fn run(args: ShimCommandArgs) -> anyhow::Result<i32> {
    Ok(berth_shim::server::main(args.into()))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        shim: ShimCommandArgs,
    }

    fn round_trip(args: &ShimArgs) -> ShimArgs {
        let mut argv = vec![std::ffi::OsString::from("shim")];
        argv.extend(args.to_flags());
        Cli::try_parse_from(argv).unwrap().shim.into()
    }

    #[test]
    fn every_field_survives_the_command_line() {
        let full = ShimArgs {
            id: "c1".into(),
            bundle: "/b".into(),
            runtime_root: "/run/berth/runtime".into(),
            state_dir: "/run/berth/shims/c1".into(),
            log_path: Some("/var/lib/berth/containers/c1/c1-json.log".into()),
            log_max_size: Some(10 << 20),
            log_max_files: 3,
            tty: true,
            open_stdin: true,
            stdin_once: true,
        };
        assert_eq!(round_trip(&full), full);
        let bare = ShimArgs {
            log_path: None,
            log_max_size: None,
            log_max_files: 1,
            tty: false,
            open_stdin: false,
            stdin_once: false,
            ..full
        };
        assert_eq!(round_trip(&bare), bare);
    }
}
