//! `berth version`: this client's version and the daemon's.

use clap::Args;

use crate::commands::{async_rt, daemon_client, format, Context};

/// `berth version` arguments.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// `json` or a Go template (`{{.Server.Version}}`).
    #[arg(short, long)]
    format: Option<String>,
}

/// Prints the client and server sections.
pub fn run(ctx: &Context, args: VersionArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let api = client.api_version().await?;
        let server = client.version().await?;
        let client_section = serde_json::json!({
            "Version": env!("CARGO_PKG_VERSION"),
            "ApiVersion": api.to_string(),
            "Os": std::env::consts::OS,
            "Arch": go_arch(),
        });
        let both = serde_json::json!({
            "Client": client_section,
            "Server": serde_json::to_value(&server)?,
        });
        match args.format.as_deref() {
            Some("json") => println!("{}", serde_json::to_string(&both)?),
            Some(text) => println!("{}", format::render(text, &both)?),
            None => {
                println!("Client:");
                println!(" Version:           {}", env!("CARGO_PKG_VERSION"));
                println!(" API version:       {api}");
                println!(" OS/Arch:           {}/{}", std::env::consts::OS, go_arch());
                println!();
                println!("Server:");
                println!(" Engine:");
                println!("  Version:          {}", server.version);
                println!(
                    "  API version:      {} (minimum version {})",
                    server.api_version, server.min_api_version
                );
                println!("  Git commit:       {}", server.git_commit);
                println!("  OS/Arch:          {}/{}", server.os, server.arch);
            }
        }
        Ok(0)
    })?
}

/// The architecture in Go's (and so Docker's) words: `amd64`, `arm64`.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}
