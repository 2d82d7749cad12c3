//! `berth runtime`: runc's command line over `berth-runtime`, so that dockerd, containerd
//! and podman can use berth as their OCI runtime.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod terminal;
mod update;

use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;
use berth_runtime::state::StateRoot;
use clap::{Args, Subcommand, ValueEnum};

/// Global flags, as runc names them.
#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// Directory holding the containers' state.
    #[arg(long, default_value = "/run/berth/runtime")]
    root: PathBuf,
    /// Also write errors (and with --debug, debug lines) to this file.
    #[arg(long)]
    log: Option<PathBuf>,
    /// Format of the --log file.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log debug lines.
    #[arg(long)]
    debug: bool,
    /// Manage cgroups through systemd (not supported: berth writes cgroupfs itself).
    #[arg(long)]
    systemd_cgroup: bool,
    /// Accepted for runc compatibility; berth detects rootless mode itself.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    rootless: Option<String>,
    /// Accepted for runc compatibility (checkpointing is not supported).
    #[arg(long, hide = true)]
    criu: Option<PathBuf>,
    #[command(subcommand)]
    command: RuntimeCommand,
}

/// The --log file format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// `time level msg` lines.
    Text,
    /// One JSON object per line, as containerd reads it.
    Json,
}

#[derive(Debug, Subcommand)]
enum RuntimeCommand {
    /// Create a container: set it up and wait for `start`.
    Create(create::CreateArgs),
    /// Start a created container's program.
    Start(start::StartArgs),
    /// Create and start a container, and by default wait for it.
    Run(run::RunArgs),
    /// Print a container's state as JSON.
    State(state::StateArgs),
    /// Send a signal to a container's init (or all its processes).
    Kill(kill::KillArgs),
    /// Delete a container and its resources.
    Delete(delete::DeleteArgs),
    /// List containers.
    List(list::ListArgs),
    /// List a container's processes.
    Ps(ps::PsArgs),
    /// Run another process in a container.
    Exec(exec::ExecArgs),
    /// Freeze a container's processes.
    Pause(pause::PauseArgs),
    /// Thaw a paused container.
    Resume(pause::PauseArgs),
    /// Change a container's resource limits.
    Update(update::UpdateArgs),
    /// Print what this runtime supports, as JSON.
    Features(features::FeaturesArgs),
    /// Write a template config.json.
    Spec(spec::SpecArgs),
    /// Print a container's resource statistics and events.
    Events(events::EventsArgs),
}

/// Runs a `berth runtime` command; errors are also written to the --log file.
pub fn run(args: RuntimeArgs) -> anyhow::Result<i32> {
    let log = Log {
        path: args.log.clone(),
        format: args.log_format,
    };
    let result = dispatch(args);
    if let Err(err) = &result {
        log.error(&super::error_line(err));
    }
    result
}

fn dispatch(args: RuntimeArgs) -> anyhow::Result<i32> {
    if args.systemd_cgroup {
        bail!("--systemd-cgroup is not supported: berth manages cgroups through cgroupfs; configure the engine with the cgroupfs driver");
    }
    let root = StateRoot::new(&args.root);
    match args.command {
        RuntimeCommand::Create(a) => create::run(&root, a),
        RuntimeCommand::Start(a) => start::run(&root, a),
        RuntimeCommand::Run(a) => run::run(&root, a),
        RuntimeCommand::State(a) => state::run(&root, a),
        RuntimeCommand::Kill(a) => kill::run(&root, a),
        RuntimeCommand::Delete(a) => delete::run(&root, a),
        RuntimeCommand::List(a) => list::run(&root, a),
        RuntimeCommand::Ps(a) => ps::run(&root, a),
        RuntimeCommand::Exec(a) => exec::run(&root, a),
        RuntimeCommand::Pause(a) => pause::pause(&root, a),
        RuntimeCommand::Resume(a) => pause::resume(&root, a),
        RuntimeCommand::Update(a) => update::run(&root, a),
        RuntimeCommand::Features(a) => features::run(a),
        RuntimeCommand::Spec(a) => spec::run(a),
        RuntimeCommand::Events(a) => events::run(&root, a),
    }
}

/// The --log file.
struct Log {
    path: Option<PathBuf>,
    format: LogFormat,
}

impl Log {
    fn error(&self, message: &str) {
        let Some(path) = &self.path else { return };
        let time = berth_runtime::state::now_rfc3339();
        let line = match self.format {
            LogFormat::Json => {
                serde_json::json!({"level": "error", "msg": message, "time": time}).to_string()
            }
            LogFormat::Text => format!("time=\"{time}\" level=error msg={message:?}"),
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Ok(mut file) = file {
            let _ = writeln!(file, "{line}");
        }
    }
}

/// Prints a hook failure that the spec calls a warning.
fn warn_hook(warning: Option<berth_runtime::hooks::HookError>) {
    if let Some(err) = warning {
        eprintln!("berth: warning: {}", super::error_line(&err.into()));
    }
}
