//! The verbs of `berth`, one module per verb (or per family of verbs).

pub mod runtime;

use clap::Subcommand;

/// The top-level verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The OCI runtime, with runc's command line (for dockerd, containerd, podman).
    Runtime(runtime::RuntimeArgs),
}

/// Runs a verb; returns the process exit code.
pub fn run(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Runtime(args) => runtime::run(args),
    }
}

/// An error and its causes on one line, as `what: why: why`.
pub fn error_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        // thiserror's `transparent` and anyhow's context can repeat a message.
        if parts.last().is_none_or(|last| !last.ends_with(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
