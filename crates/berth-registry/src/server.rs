//! Binding, TLS and the accept loop: one tokio task per connection, HTTP/1.1 with
//! keep-alive, served by hyper with the axum router.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::auth::{AuthMode, Authorizer, Htpasswd};
use crate::error::RegistryError;
use crate::policy::Policy;
use crate::routes::{router, AppState};
use crate::storage::Storage;
use crate::token::TokenIssuer;
use crate::uploads::Uploads;
use crate::{ServerConfig, TlsConfig};

/// How long a connection may take to complete its TLS handshake or a request's headers.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A bound server, ready to [`run`](Server::run).
pub struct Server {
    listener: TcpListener,
    app: Arc<AppState>,
    tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

fn invalid(what: &'static str, path: &Path, reason: impl ToString) -> RegistryError {
    RegistryError::InvalidConfig {
        what,
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn load_tls(tls: &TlsConfig) -> Result<TlsAcceptor, RegistryError> {
    let read = |path: &PathBuf, what| {
        std::fs::read(path).map_err(|source| RegistryError::Io {
            what,
            path: path.clone(),
            source,
        })
    };
    let cert_pem = read(&tls.cert, "read TLS certificate")?;
    let key_pem = read(&tls.key, "read TLS key")?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("TLS certificate", &tls.cert, e))?;
    if certs.is_empty() {
        return Err(invalid(
            "TLS certificate",
            &tls.cert,
            "no certificate found",
        ));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| invalid("TLS key", &tls.key, e))?
        .ok_or_else(|| invalid("TLS key", &tls.key, "no private key found"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(RegistryError::Tls)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(RegistryError::Tls)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn authorizer(config: &ServerConfig) -> Result<Authorizer, RegistryError> {
    let policy = match &config.policy {
        Some(path) => Policy::load(path)?,
        None => Policy::default(),
    };
    let htpasswd = config.htpasswd.as_deref().map(Htpasswd::load).transpose()?;
    let mode = match (&config.token, htpasswd) {
        (Some(token), htpasswd) => {
            let issuer = TokenIssuer::new(
                token.key_file.as_deref(),
                &config.root,
                token.realm.clone(),
                token.service.clone(),
            )?;
            // Without htpasswd only anonymous tokens can be had: public pulls only.
            let htpasswd = match htpasswd {
                Some(h) => h,
                None => Htpasswd::empty(),
            };
            AuthMode::Token(htpasswd, Box::new(issuer))
        }
        (None, Some(h)) => AuthMode::Basic(h),
        (None, None) => AuthMode::None,
    };
    Ok(Authorizer { mode, policy })
}

impl Server {
    /// Opens the storage, loads the auth configuration, and binds the listening socket
    /// (port 0 picks a free port: see [`Server::local_addr`]).
    pub async fn bind(config: ServerConfig) -> Result<Self, RegistryError> {
        let auth = authorizer(&config)?;
        if !auth.enabled() && !config.listen.ip().is_loopback() {
            return Err(RegistryError::InsecureListen(config.listen));
        }
        let tls = config.tls.as_ref().map(load_tls).transpose()?;
        let root = config.root.clone();
        let (storage, uploads) = tokio::task::spawn_blocking(move || {
            let storage = Storage::open(&root)?;
            let uploads = Uploads::open(&root, storage.content().clone())?;
            Ok::<_, RegistryError>((storage, uploads))
        })
        .await
        .map_err(|e| RegistryError::Io {
            what: "open storage",
            path: config.root.clone(),
            source: std::io::Error::other(e),
        })??;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| RegistryError::Bind {
                    addr: config.listen.to_string(),
                    source,
                })?;
        if !auth.enabled() {
            let addr = listener.local_addr().unwrap_or(config.listen);
            eprintln!(
                "berth-registry: no authentication configured: serving only on loopback {addr}"
            );
        }
        let app = Arc::new(AppState {
            storage,
            auth,
            uploads,
            tls: tls.is_some(),
        });
        Ok(Self { listener, app, tls })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, RegistryError> {
        self.listener
            .local_addr()
            .map_err(|source| RegistryError::Bind {
                addr: "bound socket".to_string(),
                source,
            })
    }

    /// Serves until the task is dropped. Accept errors (such as running out of file
    /// descriptors) are retried after a pause rather than ending the server.
    pub async fn run(self) -> Result<(), RegistryError> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes (e.g. on Ctrl-C), then stops accepting
    /// connections; requests already being served finish on their own tasks.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), RegistryError> {
        let service = TowerToHyperService::new(router(self.app.clone()));
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = &mut shutdown => return Ok(()),
            };
            let (stream, _) = match accepted {
                Ok(conn) => conn,
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let service = service.clone();
            let tls = self.tls.clone();
            tokio::spawn(async move {
                let mut http = hyper::server::conn::http1::Builder::new();
                // A client that opens a connection and sends nothing (or stalls in its
                // headers, or its TLS handshake) must not hold a task forever.
                http.timer(TokioTimer::new())
                    .header_read_timeout(HANDSHAKE_TIMEOUT);
                match tls {
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                    Some(acceptor) => {
                        let handshake =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                        if let Ok(Ok(stream)) = handshake.await {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                }
            });
        }
    }
}
