//! The verbs of `berth`, one module per verb (or per family of verbs).

pub mod async_rt;
pub mod build;
pub mod build_progress;
pub mod container;
pub mod daemon;
pub mod daemon_client;
pub mod format;
pub mod image;
pub mod login;
pub mod network;
pub mod output;
pub mod registry;
pub mod runtime;
pub mod shim;
pub mod system;
pub mod volume;

use std::path::PathBuf;

use anyhow::Context as _;
use berth_image::store::ImageStore;
use clap::Subcommand;

/// What every verb may need: where berth keeps its data.
#[derive(Debug)]
pub struct Context {
    /// The data root (images, containers, volumes).
    pub data_root: PathBuf,
    /// The daemon's runtime directory (sockets, shims' state).
    pub exec_root: PathBuf,
    /// `-H`: the daemon's address, when given.
    pub host: Option<String>,
}

impl Context {
    /// The daemon's address: `-H`, else the socket in the exec root.
    pub fn host(&self) -> String {
        match &self.host {
            Some(host) => host.clone(),
            None => format!("unix://{}", self.exec_root.join("berth.sock").display()),
        }
    }

    /// The image store under the data root.
    pub fn image_store(&self) -> anyhow::Result<ImageStore> {
        ImageStore::open(&self.data_root)
            .with_context(|| format!("open the image store in `{}`", self.data_root.display()))
    }
}

/// The top-level verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The OCI runtime, with runc's command line (for dockerd, containerd, podman).
    Runtime(Box<runtime::RuntimeArgs>),
    /// Manage images.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// List images.
    Images(image::ls::LsArgs),
    /// Give an image another name.
    Tag(image::tag::TagArgs),
    /// Remove images.
    Rmi(image::rm::RmArgs),
    /// Write images to a tar archive.
    Save(image::save::SaveArgs),
    /// Read images from a tar archive.
    Load(image::load::LoadArgs),
    /// Make an image from a root filesystem tarball.
    Import(image::import::ImportArgs),
    /// Build an image from a Dockerfile.
    Build(build::BuildArgs),
    /// Download an image from a registry.
    Pull(image::pull::PullArgs),
    /// Upload an image to a registry.
    Push(image::push::PushArgs),
    /// Save credentials for a registry.
    Login(login::LoginArgs),
    /// Forget the credentials of a registry.
    Logout(login::LogoutArgs),
    /// Run or maintain a registry.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Run the engine: the Docker Engine API on a unix socket.
    Daemon(daemon::DaemonArgs),
    /// The per-container supervisor the daemon starts.
    #[command(hide = true)]
    Shim(shim::ShimCommandArgs),
    /// Create and run a container.
    Run(Box<container::run::RunArgs>),
    /// Create a container.
    Create(Box<container::create::CreateArgs>),
    /// Start containers.
    Start(container::start::StartArgs),
    /// Stop containers.
    Stop(container::stop::StopArgs),
    /// Kill containers.
    Kill(container::kill::KillArgs),
    /// Restart containers.
    Restart(container::stop::StopArgs),
    /// Remove containers.
    Rm(container::rm::RmArgs),
    /// List containers.
    Ps(container::ps::PsArgs),
    /// A container's output.
    Logs(container::logs::LogsArgs),
    /// Run a command in a running container.
    Exec(container::exec::ExecArgs),
    /// Attach to a running container.
    Attach(container::attach::AttachArgs),
    /// Show containers, images, networks or volumes in detail.
    Inspect(container::inspect::InspectArgs),
    /// A container's processes.
    Top(container::top::TopArgs),
    /// Resource usage of containers.
    Stats(container::stats::StatsArgs),
    /// Copy files between a container and this host.
    Cp(container::cp::CpArgs),
    /// A container's published ports.
    Port(container::port::PortArgs),
    /// Rename a container.
    Rename(container::rename::RenameArgs),
    /// Freeze containers.
    Pause(container::pause::PauseArgs),
    /// Thaw containers.
    Unpause(container::pause::PauseArgs),
    /// Change resources of containers.
    Update(container::update::UpdateArgs),
    /// Wait for containers to stop; print their exit codes.
    Wait(container::wait::WaitArgs),
    /// Manage containers.
    #[command(subcommand)]
    Container(container::ContainerCommand),
    /// Manage networks.
    #[command(subcommand)]
    Network(network::NetworkCommand),
    /// Manage volumes.
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
    /// Manage the daemon's data.
    #[command(subcommand)]
    System(system::SystemCommand),
    /// The daemon's system information.
    Info(system::info::InfoArgs),
    /// The client's and the daemon's versions.
    Version(system::version::VersionArgs),
    /// The daemon's events.
    Events(system::events::EventsArgs),
}

/// Runs a verb; returns the process exit code.
pub fn run(ctx: &Context, command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Runtime(args) => runtime::run(*args),
        Command::Image(command) => image::run(ctx, command),
        Command::Images(args) => image::ls::run(ctx, args),
        Command::Tag(args) => image::tag::run(ctx, args),
        Command::Rmi(args) => image::rm::run(ctx, args),
        Command::Save(args) => image::save::run(ctx, args),
        Command::Load(args) => image::load::run(ctx, args),
        Command::Import(args) => image::import::run(ctx, args),
        Command::Build(args) => build::run(ctx, args),
        Command::Pull(args) => image::pull::run(ctx, args),
        Command::Push(args) => image::push::run(ctx, args),
        Command::Login(args) => login::login(args),
        Command::Logout(args) => login::logout(args),
        Command::Registry(command) => registry::run(command),
        Command::Daemon(args) => daemon::run(ctx, args),
        Command::Shim(args) => shim::run(args),
        Command::Run(args) => container::run::run(ctx, *args),
        Command::Create(args) => container::create::run(ctx, *args),
        Command::Start(args) => container::start::run(ctx, args),
        Command::Stop(args) => container::stop::run(ctx, args, false),
        Command::Kill(args) => container::kill::run(ctx, args),
        Command::Restart(args) => container::stop::run(ctx, args, true),
        Command::Rm(args) => container::rm::run(ctx, args),
        Command::Ps(args) => container::ps::run(ctx, args),
        Command::Logs(args) => container::logs::run(ctx, args),
        Command::Exec(args) => container::exec::run(ctx, args),
        Command::Attach(args) => container::attach::run(ctx, args),
        Command::Inspect(args) => container::inspect::run(ctx, args),
        Command::Top(args) => container::top::run(ctx, args),
        Command::Stats(args) => container::stats::run(ctx, args),
        Command::Cp(args) => container::cp::run(ctx, args),
        Command::Port(args) => container::port::run(ctx, args),
        Command::Rename(args) => container::rename::run(ctx, args),
        Command::Pause(args) => container::pause::run(ctx, args, true),
        Command::Unpause(args) => container::pause::run(ctx, args, false),
        Command::Update(args) => container::update::run(ctx, args),
        Command::Wait(args) => container::wait::run(ctx, args),
        Command::Container(command) => container::run(ctx, command),
        Command::Network(command) => network::run(ctx, command),
        Command::Volume(command) => volume::run(ctx, command),
        Command::System(command) => system::run(ctx, command),
        Command::Info(args) => system::info::run(ctx, args),
        Command::Version(args) => system::version::run(ctx, args),
        Command::Events(args) => system::events::run(ctx, args),
    }
}

/// A registry client with the saved credentials of `registry`.
pub fn registry_client(
    registry: &str,
    insecure: bool,
) -> anyhow::Result<berth_image::distribution::RegistryClient> {
    use berth_image::distribution::{ClientOptions, CredentialStore, RegistryClient};
    let credentials = CredentialStore::default_location().get(registry)?;
    Ok(RegistryClient::new(
        registry,
        ClientOptions {
            insecure,
            credentials,
            ..ClientOptions::default()
        },
    )?)
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
