//! # berth-registry
//!
//! An OCI Distribution Specification 1.1 server in the role of Docker Hub and ECR.
//!
//! ## Brief overview
//!
//! - [`ServerConfig`] says where to listen, where the data lives, and how to authenticate;
//!   [`serve`] runs a server with it, or [`Server::bind`] + [`Server::run`] when the
//!   caller wants the bound address first (port 0).
//! - Storage (`storage`): blobs and manifests in berth-image's content store under
//!   `<root>/content`, per-repository links under `<root>/repositories/<name>/`, an
//!   in-memory cache that answers every metadata read.
//! - Uploads (`uploads`): content-store ingests keyed by the upload id, with the writer
//!   (and its hash state) kept in memory between chunks.
//! - Access (`auth`, [`policy`], `token`): htpasswd basic auth, bearer tokens, public and
//!   private repositories. Without auth the server only listens on loopback.
//! - Errors ([`error`]): the spec's codes and statuses, mapped in one place.
//! - Garbage collection ([`gc()`]): mark and sweep, safe while the server runs.
//!
//! ## Threads and trust
//! A multi-threaded tokio runtime serves connections; disk work runs on tokio's blocking
//! pool in batches of megabytes. Every request from the network is untrusted: names, tags
//! and digests are validated before they touch a path; manifests are parsed with a size
//! limit; uploaded bytes are only ever made visible by a verified digest.
#![deny(missing_docs)]

mod auth;
pub mod error;
mod fsutil;
mod gc;
mod manifest;
mod mapped;
mod names;
pub mod policy;
mod routes;
mod server;
mod storage;
mod token;
mod uploads;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use error::{ApiError, ErrorCode, RegistryError};
pub use gc::{gc, GcOptions, GcReport};
pub use server::Server;

/// How to run a registry (what `berth registry serve` parses its flags into).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `--listen ADDR`: the socket address. Without authentication it must be loopback.
    pub listen: SocketAddr,
    /// `--root DIR`: where blobs, repositories, upload sessions and the token key live.
    pub root: PathBuf,
    /// `--htpasswd FILE`: bcrypt entries (`htpasswd -B`). Alone: basic auth on every
    /// request. With `token`: the credentials the token endpoint checks.
    pub htpasswd: Option<PathBuf>,
    /// `--tls-cert F --tls-key F`: serve HTTPS.
    pub tls: Option<TlsConfig>,
    /// `--policy FILE`: per-repository public/private rules (see [`policy`]); without
    /// one, every repository is private (when auth is on).
    pub policy: Option<PathBuf>,
    /// `--token-realm URL [--token-service S] [--token-key FILE]`: bearer-token auth, with
    /// the token endpoint served at `/token` on this server.
    pub token: Option<TokenConfig>,
}

impl ServerConfig {
    /// A config with no auth, no TLS, no policy.
    pub fn new(listen: SocketAddr, root: impl Into<PathBuf>) -> Self {
        Self {
            listen,
            root: root.into(),
            htpasswd: None,
            tls: None,
            policy: None,
            token: None,
        }
    }
}

/// TLS certificate and key (PEM files).
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Bearer-token authentication.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// The URL clients fetch tokens from, announced in `WWW-Authenticate`. None: this
    /// server's `/token`, at the scheme and `Host` each request arrived with.
    pub realm: Option<String>,
    /// The service name in challenges and tokens (default `berth-registry`).
    pub service: String,
    /// An HS256 key file; None: a random key made once and kept in `<root>/token.key`.
    pub key_file: Option<PathBuf>,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            realm: None,
            service: "berth-registry".to_string(),
            key_file: None,
        }
    }
}

/// Binds and serves `config` until the task is dropped or a fatal error occurs.
pub async fn serve(config: ServerConfig) -> Result<(), RegistryError> {
    Server::bind(config).await?.run().await
}
