//! Errors: [`RegistryError`] for starting the server and for gc, [`ApiError`] for requests.
//!
//! `ApiError` is the one boundary where failures become the distribution spec's JSON error
//! codes and HTTP statuses ([`ErrorCode::as_str`], [`ErrorCode::status`]).

use std::io;
use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A failure to start or run the server, or of garbage collection.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A file or directory could not be read or written.
    #[error("{what} `{path}`")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The listening socket could not be bound.
    #[error("cannot listen on `{addr}`")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// No authentication is configured and the address is not loopback.
    #[error(
        "refusing to listen on `{0}` without authentication: anyone on the network could push \
         and delete; listen on 127.0.0.1 (or [::1]), or configure --htpasswd (and optionally \
         --token-realm/--policy)"
    )]
    InsecureListen(std::net::SocketAddr),
    /// A configuration file is malformed.
    #[error("invalid {what} `{path}`: {reason}")]
    InvalidConfig {
        /// Which file (htpasswd, policy, TLS certificate, ...).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS configuration was refused by rustls.
    #[error("invalid TLS certificate or key")]
    Tls(#[source] rustls::Error),
    /// The content store failed.
    #[error(transparent)]
    Content(#[from] berth_image::content::ContentError),
}

/// The spec's error codes (OCI distribution spec, "Error Codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The blob is unknown to the repository.
    BlobUnknown,
    /// The upload is invalid (bad range, bad body).
    BlobUploadInvalid,
    /// The upload session is unknown.
    BlobUploadUnknown,
    /// The digest does not match the content, or is malformed.
    DigestInvalid,
    /// A blob referenced by a manifest is unknown to the repository.
    ManifestBlobUnknown,
    /// The manifest is malformed.
    ManifestInvalid,
    /// The manifest (or a child manifest) is unknown.
    ManifestUnknown,
    /// The repository name is invalid.
    NameInvalid,
    /// The repository is unknown.
    NameUnknown,
    /// The content does not have the announced size.
    SizeInvalid,
    /// Authentication is required or failed.
    Unauthorized,
    /// The identity may not do this.
    Denied,
    /// The operation is not supported.
    Unsupported,
    /// Too many requests.
    TooManyRequests,
    /// The tag is invalid (not a spec code, but what distribution returns as TAG_INVALID).
    TagInvalid,
    /// The range is not satisfiable (a blob GET with a bad `Range`, or a chunk out of order).
    RangeInvalid,
    /// The server failed (a disk error): status 500.
    Unknown,
}

impl ErrorCode {
    /// The code as it appears in the JSON body.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::ManifestInvalid => "MANIFEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::SizeInvalid => "SIZE_INVALID",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::TagInvalid => "TAG_INVALID",
            ErrorCode::RangeInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }

    /// The HTTP status the spec gives this code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BlobUnknown
            | ErrorCode::BlobUploadUnknown
            | ErrorCode::ManifestBlobUnknown
            | ErrorCode::ManifestUnknown
            | ErrorCode::NameUnknown => StatusCode::NOT_FOUND,
            ErrorCode::BlobUploadInvalid
            | ErrorCode::DigestInvalid
            | ErrorCode::ManifestInvalid
            | ErrorCode::NameInvalid
            | ErrorCode::SizeInvalid
            | ErrorCode::TagInvalid => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Denied => StatusCode::FORBIDDEN,
            ErrorCode::Unsupported => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RangeInvalid => StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A request's failure: a spec code, a message, an optional detail, and (for 401) the
/// `WWW-Authenticate` challenge.
#[derive(Debug)]
pub struct ApiError {
    /// The spec code.
    pub code: ErrorCode,
    /// A human-readable message.
    pub message: String,
    /// Structured detail (the digest, the name, ...).
    pub detail: serde_json::Value,
    /// The challenge sent with a 401.
    pub challenge: Option<String>,
    /// Headers such as `Range` that a 416 during an upload should carry.
    pub range: Option<String>,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            detail: serde_json::Value::Null,
            challenge: None,
            range: None,
        }
    }

    /// Adds a detail value.
    pub fn detail(mut self, detail: impl Into<serde_json::Value>) -> Self {
        self.detail = detail.into();
        self
    }

    /// An internal failure (disk): reported as a 500 without a spec code.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::Unknown, format!("internal error: {err}"))
    }
}

impl From<berth_image::content::ContentError> for ApiError {
    fn from(err: berth_image::content::ContentError) -> Self {
        use berth_image::content::ContentError as C;
        match &err {
            C::DigestMismatch { .. } => ApiError::new(ErrorCode::DigestInvalid, err.to_string()),
            C::SizeMismatch { .. } => ApiError::new(ErrorCode::SizeInvalid, err.to_string()),
            C::NotFound(d) => ApiError::new(ErrorCode::BlobUnknown, err.to_string())
                .detail(serde_json::json!({ "digest": d.to_string() })),
            C::Locked(_) => ApiError::new(ErrorCode::BlobUploadInvalid, err.to_string()),
            C::Io { .. } => ApiError::internal(format_chain(&err)),
        }
    }
}

/// `err` with its sources, for messages.
pub(crate) fn format_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let code = self.code.as_str();
        let body = serde_json::json!({
            "errors": [{ "code": code, "message": self.message, "detail": self.detail }]
        });
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(range) = self.range.and_then(|r| HeaderValue::from_str(&r).ok()) {
            headers.insert(header::RANGE, range);
        }
        headers.insert(
            "Docker-Distribution-API-Version",
            HeaderValue::from_static("registry/2.0"),
        );
        response
    }
}
