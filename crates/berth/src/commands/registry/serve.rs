//! `berth registry serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::bail;
use berth_registry::{Server, ServerConfig, TlsConfig, TokenConfig};
use clap::Args;

use crate::commands::async_rt;

/// Flags of `registry serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on. Without --htpasswd it must be a loopback address.
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: SocketAddr,
    /// Where blobs, repositories and upload sessions live.
    #[arg(long, default_value = "/var/lib/berth/registry")]
    root: PathBuf,
    /// An htpasswd file with bcrypt entries (`htpasswd -Bc FILE USER`): basic auth, or
    /// the credentials of the token endpoint with --token.
    #[arg(long)]
    htpasswd: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Per-repository rules: {"default": "private", "repositories": {"library/*": "public"}}.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Use bearer tokens issued at /token (the flow docker and skopeo use).
    #[arg(long)]
    token: bool,
    /// The realm URL announced to clients (default: this server's /token).
    #[arg(long, requires = "token")]
    token_realm: Option<String>,
    /// The service name in token challenges.
    #[arg(long, default_value = "berth-registry")]
    token_service: String,
    /// The HS256 key that signs tokens (default: made once, kept in the root).
    #[arg(long, requires = "token")]
    token_key: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<i32> {
    if args.htpasswd.is_none() && args.token && args.policy.is_none() {
        bail!("--token without --htpasswd and --policy would let nobody in: give --htpasswd FILE, or a --policy with public repositories");
    }
    let mut config = ServerConfig::new(args.listen, &args.root);
    config.htpasswd = args.htpasswd;
    config.policy = args.policy;
    config.tls = args
        .tls_cert
        .zip(args.tls_key)
        .map(|(cert, key)| TlsConfig { cert, key });
    if args.token {
        config.token = Some(TokenConfig {
            realm: args.token_realm,
            service: args.token_service,
            key_file: args.token_key,
        });
    }
    async_rt::block_on(async move {
        let server = Server::bind(config).await?;
        eprintln!("berth registry: serving on {}", server.local_addr()?);
        let shutdown = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
        };
        server.run_until(shutdown).await
    })??;
    Ok(0)
}
