//! Upload sessions.
//!
//! An upload is an ingest of the content store keyed `upload/<uuid>`, so its bytes are
//! hashed once, as they are written, and it becomes a visible blob only by the store's
//! verified commit. A marker `<root>/uploads/<uuid>` names the session's repository, so a
//! session outlives a restart. Between requests the session's [`BlobWriter`] (file and
//! hasher state) stays in memory; only after a restart is it reopened, which re-hashes
//! what was written before.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use berth_image::content::{BlobWriter, ContentStore};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use crate::error::{ApiError, ErrorCode, RegistryError};
use crate::fsutil::{io_err, remove_if_exists};

/// How many bytes of a request body are gathered before one blocking write: large enough
/// that the thread hand-off is negligible per byte, small enough to bound memory.
const WRITE_BATCH: usize = 4 << 20;

/// How long an abandoned session's marker is kept (the content store expires ingests
/// after the same time).
const SESSION_EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// One session's writer; None while it is in a blocking write or not yet reopened.
pub(crate) type Session = Arc<tokio::sync::Mutex<Option<BlobWriter>>>;

/// The upload sessions.
#[derive(Debug)]
pub(crate) struct Uploads {
    dir: PathBuf,
    content: ContentStore,
    /// uuid -> (repository, session).
    sessions: Mutex<HashMap<String, (String, Session)>>,
}

pub(crate) fn ingest_ref(uuid: &str) -> String {
    format!("upload/{uuid}")
}

fn unknown(uuid: &str) -> ApiError {
    ApiError::new(
        ErrorCode::BlobUploadUnknown,
        format!("upload `{uuid}` is unknown"),
    )
    .detail(serde_json::json!({ "uuid": uuid }))
}

impl Uploads {
    /// Opens the session markers under `<root>/uploads`, removing expired ones.
    pub fn open(root: &std::path::Path, content: ContentStore) -> Result<Self, RegistryError> {
        let dir = root.join("uploads");
        std::fs::create_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let now = SystemTime::now();
            for entry in entries.flatten() {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age > SESSION_EXPIRY);
                if old {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(Self {
            dir,
            content,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Session)>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an upload for repository `name` (blocking). A session that later requests
    /// continue (`resumable`) gets a marker; it is not fsynced: a marker lost or torn by
    /// a crash only makes the session unknown, and the client starts a new one.
    pub fn start(&self, name: &str, resumable: bool) -> Result<(String, BlobWriter), ApiError> {
        let uuid = uuid::Uuid::new_v4().to_string();
        if resumable {
            let marker = self.dir.join(&uuid);
            std::fs::write(&marker, name)
                .map_err(|e| ApiError::internal(io_err("write upload marker", &marker)(e)))?;
        }
        let writer = self.content.writer(&ingest_ref(&uuid))?;
        Ok((uuid, writer))
    }

    /// Registers a started session of repository `name` for later requests.
    pub fn insert(&self, name: &str, uuid: &str, writer: Option<BlobWriter>) {
        let session = Arc::new(tokio::sync::Mutex::new(writer));
        self.map()
            .insert(uuid.to_string(), (name.to_string(), session));
    }

    /// The session `uuid` of repository `name`: from memory, or (after a restart) from
    /// its marker, in which case its writer is reopened on first use.
    pub fn session(&self, name: &str, uuid: &str) -> Result<Session, ApiError> {
        if uuid::Uuid::parse_str(uuid).is_err() {
            return Err(unknown(uuid));
        }
        if let Some((owner, s)) = self.map().get(uuid) {
            // A session belongs to the repository it was started in.
            return if owner == name {
                Ok(s.clone())
            } else {
                Err(unknown(uuid))
            };
        }
        match std::fs::read_to_string(self.dir.join(uuid)) {
            Ok(owner) if owner == name => Ok(self
                .map()
                .entry(uuid.to_string())
                .or_insert_with(|| (owner, Arc::new(tokio::sync::Mutex::new(None))))
                .1
                .clone()),
            _ => Err(unknown(uuid)),
        }
    }

    /// Takes a session's writer out of its slot, reopening the ingest if needed.
    pub async fn take_writer(
        &self,
        slot: &mut Option<BlobWriter>,
        uuid: &str,
    ) -> Result<BlobWriter, ApiError> {
        if let Some(w) = slot.take() {
            return Ok(w);
        }
        let content = self.content.clone();
        let reference = ingest_ref(uuid);
        crate::routes::blocking(move || Ok(content.writer(&reference)?)).await
    }

    /// Forgets session `uuid` (its ingest is committed or discarded by the caller).
    pub fn end(&self, uuid: &str) {
        self.map().remove(uuid);
        let _ = remove_if_exists(&self.dir.join(uuid));
    }
}

/// Appends a request body to `writer`. Frames are gathered into batches written on a
/// blocking thread while the next batch is read from the network. Returns the writer
/// (None only if a write task panicked) and the outcome.
pub(crate) async fn append_body(
    writer: BlobWriter,
    body: Body,
) -> (Option<BlobWriter>, Result<(), ApiError>) {
    type Write = JoinHandle<(BlobWriter, std::io::Result<()>)>;
    async fn wait(pending: Write) -> (Option<BlobWriter>, Result<(), ApiError>) {
        match pending.await {
            Ok((w, Ok(()))) => (Some(w), Ok(())),
            Ok((w, Err(e))) => (Some(w), Err(ApiError::internal(e))),
            Err(e) => (None, Err(ApiError::internal(e))),
        }
    }
    let mut stream = body.into_data_stream();
    let mut idle = Some(writer);
    let mut pending: Option<Write> = None;
    let mut batch: Vec<Bytes> = Vec::new();
    let mut batch_len = 0;
    loop {
        let next = stream.next().await;
        let done = next.is_none();
        match next {
            Some(Ok(bytes)) => {
                batch_len += bytes.len();
                batch.push(bytes);
            }
            Some(Err(e)) => {
                let err = ApiError::new(
                    ErrorCode::BlobUploadInvalid,
                    format!("reading the request body failed: {e}"),
                );
                return match pending {
                    Some(p) => (wait(p).await.0, Err(err)),
                    None => (idle, Err(err)),
                };
            }
            None => {}
        }
        if batch_len >= WRITE_BATCH || (done && batch_len > 0) {
            if let Some(p) = pending.take() {
                let (w, result) = wait(p).await;
                if result.is_err() {
                    return (w, result);
                }
                idle = w;
            }
            let Some(mut w) = idle.take() else {
                return (None, Err(ApiError::internal("upload writer lost")));
            };
            let chunks = std::mem::take(&mut batch);
            batch_len = 0;
            pending = Some(tokio::task::spawn_blocking(move || {
                let result = chunks.iter().try_for_each(|c| w.write_all(c));
                (w, result)
            }));
        }
        if done {
            break;
        }
    }
    match pending {
        Some(p) => wait(p).await,
        None => (idle, Ok(())),
    }
}
