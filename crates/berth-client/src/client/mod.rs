//! A typed async client of the Docker Engine API, over a unix socket or TCP.
//!
//! Each call opens its own HTTP/1.1 connection: the daemon is local, a connect costs
//! microseconds, and streaming calls (logs, events, pulls) hold their connection for as
//! long as the caller reads, so a pool would buy little.
//!
//! The API version is negotiated on first use, as the docker CLI does: `GET /_ping`, read
//! `API-Version`, then prefix every path with `/v<min(daemon, ours)>`.

mod archive;
mod container_ops;
mod containers;
mod error;
mod exec;
mod hijack;
mod images;
mod networks;
mod query;
mod raw;
mod streams;
mod system;
mod volumes;

use std::path::PathBuf;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::OnceCell;

use crate::types::version::{ApiVersion, MIN_API_VERSION};

pub use archive::PathStat;
pub use container_ops::{CreateOptions, StopOptions};
pub use containers::{ListContainersOptions, LogsOptions, RemoveContainerOptions};
pub use error::Error;
pub use hijack::{AttachOptions, Hijacked, HijackedReader, HijackedWriter};
pub use images::{BuildOptions, InPlaceContext, PullOptions};
pub use query::Filters;
pub use raw::ObjectKind;
pub use streams::{ByteStream, JsonStream, OutputStream};
pub use system::EventsOptions;

/// Where the daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    /// A unix socket path.
    Unix(PathBuf),
    /// `host:port`.
    Tcp(String),
}

/// A client of one daemon. Its calls must run inside a tokio runtime: each connection is
/// driven by a spawned task. Clones share nothing but the address and the negotiated
/// version.
#[derive(Debug, Clone)]
pub struct DockerClient {
    endpoint: Endpoint,
    /// The address as given, for error messages.
    display: String,
    version: OnceCell<ApiVersion>,
}

/// A request body: bytes with their content type.
struct Body {
    bytes: Bytes,
    content_type: &'static str,
}

impl DockerClient {
    /// A client of the daemon at `host`: `unix:///run/berth/berth.sock`,
    /// `tcp://127.0.0.1:2375` or `http://...`. Nothing is contacted yet.
    pub fn new(host: &str) -> Result<DockerClient, Error> {
        let invalid = |reason| Error::InvalidHost {
            host: host.to_string(),
            reason,
        };
        let endpoint = if let Some(path) = host.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(invalid("the socket path is empty"));
            }
            Endpoint::Unix(PathBuf::from(path))
        } else if let Some(addr) = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
        {
            let addr = addr.trim_end_matches('/');
            if addr.is_empty() || addr.contains('/') {
                return Err(invalid("expected tcp://HOST:PORT"));
            }
            // Docker's default port for plain TCP.
            let addr = if addr
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            {
                addr.to_string()
            } else {
                format!("{addr}:2375")
            };
            Endpoint::Tcp(addr)
        } else {
            return Err(invalid("expected unix://PATH or tcp://HOST:PORT"));
        };
        Ok(DockerClient {
            endpoint,
            display: host.to_string(),
            version: OnceCell::new(),
        })
    }

    /// The daemon's address as given.
    pub fn host(&self) -> &str {
        &self.display
    }

    /// Uses `version` instead of negotiating one.
    pub fn with_version(self, version: ApiVersion) -> DockerClient {
        DockerClient {
            version: OnceCell::new_with(Some(version)),
            ..self
        }
    }

    /// The API version calls use, negotiated with the daemon on first use.
    pub async fn api_version(&self) -> Result<ApiVersion, Error> {
        self.version
            .get_or_try_init(|| async {
                let ping = self.ping().await?;
                let Some(announced) = ping.api_version else {
                    // Docker's clients fall back likewise when a daemon says nothing.
                    return Ok(MIN_API_VERSION);
                };
                let server: ApiVersion =
                    announced.parse().map_err(|source| Error::BadApiVersion {
                        announced: announced.clone(),
                        source,
                    })?;
                ApiVersion::negotiate(server).ok_or(Error::UnsupportedVersion {
                    server,
                    min: MIN_API_VERSION,
                })
            })
            .await
            .copied()
    }

    /// Opens a connection and performs the HTTP/1.1 handshake. With `upgrades` the
    /// connection can be taken over after a `101 Switching Protocols` (attach, exec start).
    async fn connect(
        &self,
        upgrades: bool,
    ) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, Error> {
        let connect_error = |source| Error::Connect {
            endpoint: self.display.clone(),
            source,
        };
        match &self.endpoint {
            Endpoint::Unix(path) => {
                let stream = UnixStream::connect(path).await.map_err(connect_error)?;
                self.handshake(stream, upgrades).await
            }
            Endpoint::Tcp(addr) => {
                let stream = TcpStream::connect(addr).await.map_err(connect_error)?;
                self.handshake(stream, upgrades).await
            }
        }
    }

    async fn handshake<S>(
        &self,
        stream: S,
        upgrades: bool,
    ) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, Error>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|source| Error::Http {
                endpoint: self.display.clone(),
                what: "the HTTP handshake".to_string(),
                source,
            })?;
        // The connection task ends with the exchange; its errors reach the caller through
        // the response or body futures.
        if upgrades {
            tokio::spawn(async move {
                let _ = conn.with_upgrades().await;
            });
        } else {
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
        Ok(sender)
    }

    /// Sends `method uri` (with its version prefix, if any) and returns the answer
    /// whatever its status.
    async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<Body>,
        headers: &[(&'static str, String)],
    ) -> Result<Response<Incoming>, Error> {
        self.send_with(method, uri, body, headers, false).await
    }

    /// [`DockerClient::send`], on a connection that can be upgraded when `upgrades`.
    async fn send_with(
        &self,
        method: Method,
        uri: &str,
        body: Option<Body>,
        headers: &[(&'static str, String)],
        upgrades: bool,
    ) -> Result<Response<Incoming>, Error> {
        let what = format!("{method} {uri}");
        let mut builder = Request::builder().method(method).uri(uri).header(
            HOST,
            match &self.endpoint {
                // What the docker CLI sends over unix sockets.
                Endpoint::Unix(_) => "api.moby.localhost",
                Endpoint::Tcp(addr) => addr.as_str(),
            },
        );
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let bytes = match body {
            Some(body) => {
                builder = builder.header(CONTENT_TYPE, HeaderValue::from_static(body.content_type));
                body.bytes
            }
            None => Bytes::new(),
        };
        let request = builder
            .body(Full::new(bytes))
            .map_err(|source| Error::Request {
                what: what.clone(),
                source,
            })?;
        let mut sender = self.connect(upgrades).await?;
        sender
            .send_request(request)
            .await
            .map_err(|source| Error::Http {
                endpoint: self.display.clone(),
                what,
                source,
            })
    }

    /// Sends a request and requires one of `ok` statuses; any other status becomes the
    /// matching [`Error`] with the daemon's message.
    async fn call(
        &self,
        method: Method,
        target: &str,
        body: Option<Body>,
        headers: &[(&'static str, String)],
        ok: &[StatusCode],
    ) -> Result<Response<Incoming>, Error> {
        self.call_with(method, target, body, headers, ok, false)
            .await
    }

    /// [`DockerClient::call`], on a connection that can be upgraded when `upgrades`.
    async fn call_with(
        &self,
        method: Method,
        target: &str,
        body: Option<Body>,
        headers: &[(&'static str, String)],
        ok: &[StatusCode],
        upgrades: bool,
    ) -> Result<Response<Incoming>, Error> {
        let what = format!("{method} {target}");
        let uri = format!("{}{target}", self.api_version().await?.path_prefix());
        let response = self
            .send_with(method, &uri, body, headers, upgrades)
            .await?;
        if ok.contains(&response.status()) {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = self.read_body(response, &what).await?;
        Err(Error::from_status(status, &what, &body))
    }

    /// Reads a whole body.
    async fn read_body(&self, response: Response<Incoming>, what: &str) -> Result<Bytes, Error> {
        Ok(response
            .into_body()
            .collect()
            .await
            .map_err(|source| Error::Http {
                endpoint: self.display.clone(),
                what: what.to_string(),
                source,
            })?
            .to_bytes())
    }

    /// A call answered with JSON.
    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        target: &str,
        body: Option<Body>,
        ok: &[StatusCode],
    ) -> Result<T, Error> {
        let what = format!("{method} {target}");
        let response = self.call(method, target, body, &[], ok).await?;
        let bytes = self.read_body(response, &what).await?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Decode { what, source })
    }

    /// A call whose answer has no body worth reading.
    async fn empty(
        &self,
        method: Method,
        target: &str,
        body: Option<Body>,
        ok: &[StatusCode],
    ) -> Result<(), Error> {
        let what = format!("{method} {target}");
        let response = self.call(method, target, body, &[], ok).await?;
        self.read_body(response, &what).await?;
        Ok(())
    }
}

/// A JSON request body.
fn json_body<T: Serialize>(value: &T, what: &str) -> Result<Body, Error> {
    let bytes = serde_json::to_vec(value).map_err(|source| Error::Encode {
        what: what.to_string(),
        source,
    })?;
    Ok(Body {
        bytes: Bytes::from(bytes),
        content_type: "application/json",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts() {
        let c = DockerClient::new("unix:///run/berth/berth.sock").unwrap();
        assert_eq!(c.endpoint, Endpoint::Unix("/run/berth/berth.sock".into()));
        let c = DockerClient::new("tcp://127.0.0.1:2376").unwrap();
        assert_eq!(c.endpoint, Endpoint::Tcp("127.0.0.1:2376".into()));
        let c = DockerClient::new("tcp://docker.example").unwrap();
        assert_eq!(c.endpoint, Endpoint::Tcp("docker.example:2375".into()));
        for bad in ["", "unix://", "ssh://host", "/run/x.sock", "tcp://h:1/path"] {
            assert!(DockerClient::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn maps_statuses_to_error_classes() {
        let body = br#"{"message":"No such container: x"}"#;
        let e = Error::from_status(404, "GET /x", body);
        assert!(matches!(&e, Error::NotFound { message } if message == "No such container: x"));
        assert!(matches!(
            Error::from_status(409, "", body),
            Error::Conflict { .. }
        ));
        assert!(matches!(
            Error::from_status(400, "", body),
            Error::InvalidArgument { .. }
        ));
        assert!(matches!(
            Error::from_status(403, "", body),
            Error::Unauthorized { status: 403, .. }
        ));
        assert!(
            matches!(Error::from_status(500, "", b"plain text"), Error::Server { message, .. } if message == "plain text")
        );
        assert!(matches!(
            Error::from_status(418, "", body),
            Error::UnexpectedStatus { status: 418, .. }
        ));
    }
}
