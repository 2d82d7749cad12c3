//! `berth`: the command line. It parses arguments, calls a library, prints; nothing else.

mod commands;

use std::process::ExitCode;

use clap::Parser;

/// berth: containers, images, registry and clusters in one binary.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, propagate_version = true)]
struct Cli {
    /// Where berth keeps images, containers and volumes.
    #[arg(
        long,
        global = true,
        env = "BERTH_DATA_ROOT",
        default_value = "/var/lib/berth"
    )]
    data_root: std::path::PathBuf,
    /// Where the daemon keeps its sockets and the shims' state.
    #[arg(
        long,
        global = true,
        env = "BERTH_EXEC_ROOT",
        default_value = "/run/berth"
    )]
    exec_root: std::path::PathBuf,
    /// The daemon's address (`unix:///path` or `tcp://host:port`); default: the socket in
    /// the exec root.
    #[arg(short = 'H', long, global = true, env = "BERTH_HOST")]
    host: Option<String>,
    #[command(subcommand)]
    command: commands::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = commands::Context {
        data_root: cli.data_root,
        exec_root: cli.exec_root,
        host: cli.host,
    };
    match commands::run(&ctx, cli.command) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("berth: {}", commands::error_line(&err));
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
