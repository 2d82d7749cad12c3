//! Errors of the distribution client.

use std::path::PathBuf;

use crate::content::ContentError;
use crate::digest::Digest;

/// One entry of a registry's JSON error body (`{"errors":[{"code","message","detail"}]}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct RegistryErrorItem {
    /// The spec's code, e.g. `MANIFEST_UNKNOWN`.
    pub code: String,
    /// The registry's message.
    #[serde(default)]
    pub message: String,
}

/// Errors of the distribution client.
#[derive(Debug, thiserror::Error)]
pub enum DistributionError {
    /// The registry could not be reached (after retries), or the connection broke.
    #[error("cannot reach registry `{registry}` at {url}")]
    Connect {
        /// The registry host.
        registry: String,
        /// The URL requested.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The registry needs credentials, or refused the ones given.
    #[error("unauthorized: authentication required (run `berth login {registry}`)")]
    Unauthorized {
        /// The registry host.
        registry: String,
    },
    /// `login` was refused: the credentials are wrong.
    #[error("login to `{registry}` failed: incorrect username or password")]
    LoginRefused {
        /// The registry host.
        registry: String,
    },
    /// The credentials are valid but do not grant the operation.
    #[error("denied: requested access to `{repository}` on `{registry}` is denied{}", detail(.errors))]
    Denied {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// The registry's errors.
        errors: Vec<RegistryErrorItem>,
    },
    /// No manifest with that tag or digest.
    #[error("manifest unknown: {reference} not found")]
    ManifestUnknown {
        /// The reference asked for.
        reference: String,
    },
    /// No blob with that digest in the repository.
    #[error("blob unknown: `{digest}` not found in `{repository}`")]
    BlobUnknown {
        /// The repository.
        repository: String,
        /// The digest.
        digest: Digest,
    },
    /// Any other error status; the registry's codes and messages are shown.
    #[error("registry `{registry}` answered {status} for {path}{}", detail(.errors))]
    Registry {
        /// The registry host.
        registry: String,
        /// The URL path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The registry's errors.
        errors: Vec<RegistryErrorItem>,
    },
    /// The token realm could not give a token.
    #[error("token request to `{realm}` failed: {reason}")]
    Token {
        /// The realm URL.
        realm: String,
        /// What went wrong.
        reason: String,
    },
    /// The registry sent bytes that do not match the digest they should have.
    #[error("digest mismatch for {what}: expected `{expected}`, content hashes to `{actual}`")]
    DigestMismatch {
        /// What was fetched.
        what: String,
        /// The expected digest.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// The manifest could not be understood.
    #[error("invalid manifest for `{reference}`: {reason}")]
    BadManifest {
        /// The reference.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// An index has no manifest for the wanted platform.
    #[error("no matching manifest for {platform} in the manifest list entries of `{reference}`")]
    NoMatchingPlatform {
        /// The reference.
        reference: String,
        /// The wanted platform.
        platform: String,
    },
    /// A response was not what the protocol says.
    #[error("unexpected response from `{registry}` to {what}: {reason}")]
    Protocol {
        /// The registry host.
        registry: String,
        /// The operation.
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// The content store failed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// A layer could not be unpacked.
    #[error("failed to unpack layer `{digest}`")]
    Unpack {
        /// The layer.
        digest: Digest,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The image store failed to record the pulled image.
    #[error("failed to record image `{reference}`")]
    Store {
        /// The reference.
        reference: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A local file (credentials, blob) could not be read or written.
    #[error("{what} `{path}`")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The credentials file is not valid.
    #[error("invalid credentials file `{path}`: {reason}")]
    BadCredentials {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A background task failed.
    #[error("transfer task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl DistributionError {
    /// Connection failures and server errors (`5xx`, `429`): worth a fresh attempt.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. } => true,
            Self::Registry { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

fn detail(errors: &[RegistryErrorItem]) -> String {
    errors
        .iter()
        .map(|e| {
            if e.message.is_empty() {
                format!(": {}", e.code)
            } else {
                format!(": {}: {}", e.code, e.message)
            }
        })
        .collect()
}

/// Results of this module.
pub type Result<T, E = DistributionError> = std::result::Result<T, E>;
