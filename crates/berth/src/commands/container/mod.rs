//! The container verbs, clients of the daemon's Docker Engine API: `run`, `ps`, `exec`,
//! ... at top level as docker has them, and under `berth container`.

pub mod attach;
pub mod config;
pub mod cp;
pub mod create;
pub mod exec;
pub mod inspect;
pub mod kill;
pub mod logs;
pub mod pause;
pub mod port;
pub mod present;
pub mod ps;
pub mod rename;
pub mod rm;
pub mod run;
pub mod start;
pub mod stats;
pub mod stdio;
pub mod stop;
pub mod top;
pub mod update;
pub mod wait;

use clap::Subcommand;

use super::Context;

/// `berth container` verbs (the same as the top-level ones).
#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Create and run a container.
    Run(Box<run::RunArgs>),
    /// Create a container.
    Create(Box<create::CreateArgs>),
    /// Start containers.
    Start(start::StartArgs),
    /// Stop containers.
    Stop(stop::StopArgs),
    /// Kill containers.
    Kill(kill::KillArgs),
    /// Restart containers.
    Restart(stop::StopArgs),
    /// Remove containers.
    #[command(alias = "remove")]
    Rm(rm::RmArgs),
    /// List containers.
    #[command(alias = "ps", alias = "list")]
    Ls(ps::PsArgs),
    /// A container's output.
    Logs(logs::LogsArgs),
    /// Run a command in a running container.
    Exec(exec::ExecArgs),
    /// Attach to a running container.
    Attach(attach::AttachArgs),
    /// Show containers in detail.
    Inspect(inspect::InspectArgs),
    /// A container's processes.
    Top(top::TopArgs),
    /// Resource usage.
    Stats(stats::StatsArgs),
    /// Copy files between a container and this host.
    Cp(cp::CpArgs),
    /// Published ports.
    Port(port::PortArgs),
    /// Rename a container.
    Rename(rename::RenameArgs),
    /// Freeze containers.
    Pause(pause::PauseArgs),
    /// Thaw containers.
    Unpause(pause::PauseArgs),
    /// Change resources of containers.
    Update(update::UpdateArgs),
    /// Wait for containers to stop.
    Wait(wait::WaitArgs),
}

/// Runs a `container` verb.
pub fn run(ctx: &Context, command: ContainerCommand) -> anyhow::Result<i32> {
    match command {
        ContainerCommand::Run(args) => run::run(ctx, *args),
        ContainerCommand::Create(args) => create::run(ctx, *args),
        ContainerCommand::Start(args) => start::run(ctx, args),
        ContainerCommand::Stop(args) => stop::run(ctx, args, false),
        ContainerCommand::Kill(args) => kill::run(ctx, args),
        ContainerCommand::Restart(args) => stop::run(ctx, args, true),
        ContainerCommand::Rm(args) => rm::run(ctx, args),
        ContainerCommand::Ls(args) => ps::run(ctx, args),
        ContainerCommand::Logs(args) => logs::run(ctx, args),
        ContainerCommand::Exec(args) => exec::run(ctx, args),
        ContainerCommand::Attach(args) => attach::run(ctx, args),
        ContainerCommand::Inspect(args) => inspect::run(ctx, args),
        ContainerCommand::Top(args) => top::run(ctx, args),
        ContainerCommand::Stats(args) => stats::run(ctx, args),
        ContainerCommand::Cp(args) => cp::run(ctx, args),
        ContainerCommand::Port(args) => port::run(ctx, args),
        ContainerCommand::Rename(args) => rename::run(ctx, args),
        ContainerCommand::Pause(args) => pause::run(ctx, args, true),
        ContainerCommand::Unpause(args) => pause::run(ctx, args, false),
        ContainerCommand::Update(args) => update::run(ctx, args),
        ContainerCommand::Wait(args) => wait::run(ctx, args),
    }
}
