//! `berth info`: the daemon's system information.

use clap::Args;

use crate::commands::output::human_size;
use crate::commands::{async_rt, daemon_client, format, Context};

/// `berth info` arguments.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// `json` or a Go template.
    #[arg(short, long)]
    format: Option<String>,
}

/// Prints the server section of `docker info`.
pub fn run(ctx: &Context, args: InfoArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let info = client.info().await?;
        match args.format.as_deref() {
            Some("json") => {
                println!("{}", serde_json::to_string(&info)?);
                return Ok(0);
            }
            Some(text) => {
                println!("{}", format::render(text, &serde_json::to_value(&info)?)?);
                return Ok(0);
            }
            None => {}
        }
        println!("Server:");
        println!(" Containers: {}", info.containers);
        println!("  Running: {}", info.containers_running);
        println!("  Paused: {}", info.containers_paused);
        println!("  Stopped: {}", info.containers_stopped);
        println!(" Images: {}", info.images);
        println!(" Server Version: {}", info.server_version);
        println!(" Storage Driver: {}", info.driver);
        println!(" Logging Driver: {}", info.logging_driver);
        println!(" Cgroup Driver: {}", info.cgroup_driver);
        println!(" Cgroup Version: {}", info.cgroup_version);
        println!(" Default Runtime: {}", info.default_runtime);
        println!(" Kernel Version: {}", info.kernel_version);
        println!(" Operating System: {}", info.operating_system);
        println!(" OSType: {}", info.os_type);
        println!(" Architecture: {}", info.architecture);
        println!(" CPUs: {}", info.ncpu);
        println!(
            " Total Memory: {}",
            human_size(info.mem_total.max(0) as u64)
        );
        println!(" Name: {}", info.name);
        println!(" ID: {}", info.id);
        println!(" Docker Root Dir: {}", info.docker_root_dir);
        println!(" Debug Mode: {}", info.debug);
        println!(" Live Restore Enabled: {}", info.live_restore_enabled);
        for warning in &info.warnings {
            eprintln!("{warning}");
        }
        Ok(0)
    })?
}
