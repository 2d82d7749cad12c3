//! The one error type of the client: transport failures, and the daemon's refusals
//! mapped from HTTP status and `{"message": ...}` bodies into the error classes callers
//! act on (not found, conflict, invalid argument, unauthorized, server error).

use std::io;

use crate::codec::{FrameError, JsonStreamError};
use crate::types::version::{ApiVersion, InvalidVersion};

/// What can go wrong talking to a Docker Engine API daemon.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A host string that is not `unix://PATH`, `tcp://HOST:PORT` or `http://HOST:PORT`.
    #[error("invalid daemon address `{host}`: {reason}")]
    InvalidHost {
        /// The address given.
        host: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The socket could not be reached.
    #[error("cannot connect to the daemon at `{endpoint}`; is it running?")]
    Connect {
        /// The address.
        endpoint: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The HTTP exchange failed (connection reset, malformed answer, ...).
    #[error("HTTP exchange with `{endpoint}` failed during {what}")]
    Http {
        /// The address.
        endpoint: String,
        /// The request, `METHOD PATH`.
        what: String,
        /// The cause.
        #[source]
        source: hyper::Error,
    },
    /// A streamed answer broke off.
    #[error("reading the answer to `{what}` failed")]
    Body {
        /// The request, `METHOD PATH`.
        what: String,
        /// The cause.
        #[source]
        source: hyper::Error,
    },
    /// A taken-over (attach, exec) connection failed.
    #[error("the attached stream of `{what}` failed")]
    Hijacked {
        /// The request, `METHOD PATH`.
        what: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The daemon did not switch protocols for an attach or exec start.
    #[error("`{what}` was not upgraded to a raw stream")]
    Upgrade {
        /// The request, `METHOD PATH`.
        what: String,
        /// The cause.
        #[source]
        source: hyper::Error,
    },
    /// A header the call needs is missing or unreadable.
    #[error("the answer to `{what}` has no valid `{header}` header")]
    Header {
        /// The request, `METHOD PATH`.
        what: String,
        /// The header's name.
        header: &'static str,
    },
    /// A request that could not be built (a name with characters no URI allows).
    #[error("cannot build the request `{what}`")]
    Request {
        /// The request, `METHOD PATH`.
        what: String,
        /// The cause.
        #[source]
        source: hyper::http::Error,
    },
    /// 404: no such container, image, network, volume or exec.
    #[error("not found: {message}")]
    NotFound {
        /// The daemon's message.
        message: String,
    },
    /// 409: a name in use, a running container that must be stopped, ...
    #[error("conflict: {message}")]
    Conflict {
        /// The daemon's message.
        message: String,
    },
    /// 400: the request is invalid.
    #[error("invalid argument: {message}")]
    InvalidArgument {
        /// The daemon's message.
        message: String,
    },
    /// 401 or 403: credentials missing, wrong, or not enough.
    #[error("unauthorized ({status}): {message}")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The daemon's message.
        message: String,
    },
    /// 5xx: the daemon failed.
    #[error("daemon error ({status}): {message}")]
    Server {
        /// The status code.
        status: u16,
        /// The daemon's message.
        message: String,
    },
    /// Any other status the call does not expect.
    #[error("unexpected HTTP status {status} for `{what}`: {message}")]
    UnexpectedStatus {
        /// The status code.
        status: u16,
        /// The request, `METHOD PATH`.
        what: String,
        /// The body, as text.
        message: String,
    },
    /// A body that is not the JSON the call expects.
    #[error("cannot decode the answer to `{what}`")]
    Decode {
        /// The request, `METHOD PATH`.
        what: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A request body that could not be encoded.
    #[error("cannot encode the body of `{what}`")]
    Encode {
        /// The request, `METHOD PATH`.
        what: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// `/_ping` did not carry a usable `API-Version`.
    #[error("the daemon announced API version `{announced}`")]
    BadApiVersion {
        /// What it announced.
        announced: String,
        /// The cause.
        #[source]
        source: InvalidVersion,
    },
    /// The daemon's newest version is older than the client's oldest.
    #[error("the daemon speaks API {server}, older than the minimum {min} this client needs")]
    UnsupportedVersion {
        /// The daemon's newest version.
        server: ApiVersion,
        /// This client's oldest.
        min: ApiVersion,
    },
    /// A logs/exec stream that breaks the multiplexed framing.
    #[error("invalid output stream")]
    Frame(#[from] FrameError),
    /// A progress or events stream that is not JSON.
    #[error("invalid JSON stream")]
    JsonStream(#[from] JsonStreamError),
    /// A pull, push or import that failed after its 200 answer.
    #[error("{message}")]
    Stream {
        /// The daemon's message.
        message: String,
    },
}

impl Error {
    /// Maps a status and body of a failed call into the error class of that status.
    pub fn from_status(status: u16, what: &str, body: &[u8]) -> Error {
        let message = match serde_json::from_slice::<crate::types::errors::ErrorResponse>(body) {
            Ok(e) => e.message,
            Err(_) => String::from_utf8_lossy(body).trim().to_string(),
        };
        match status {
            400 => Error::InvalidArgument { message },
            401 | 403 => Error::Unauthorized { status, message },
            404 => Error::NotFound { message },
            409 => Error::Conflict { message },
            500..=599 => Error::Server { status, message },
            _ => Error::UnexpectedStatus {
                status,
                what: what.to_string(),
                message,
            },
        }
    }

    /// Whether the daemon said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}
