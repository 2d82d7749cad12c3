//! `POST /images/create?fromImage=`: a pull, answered with Docker's JSON progress stream.
//!
//! The pull runs on its own task. Until it reports its first layer, nothing is sent: a
//! failure by then (no such repository or tag, access denied) is a plain HTTP error, as
//! dockerd answers it. Once layers are reported the answer is a 200 stream, and a later
//! failure is its last message (`errorDetail`).

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::response::Response;
use berth_image::distribution::origins::BlobOrigins;
use berth_image::distribution::progress::ChannelProgress;
use berth_image::distribution::pull::{PullOptions, PulledImage};
use berth_image::distribution::unpack::SnapshotUnpacker;
use berth_image::distribution::{self, DistributionError, ProgressEvent};
use berth_image::manifest::Platform;
use berth_image::reference::Reference;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::stream::{json_stream, LayerProgress, Messages};
use super::{auth, errors, param, publish, Params};
use crate::api::{error_response, ApiResult, AppState};
use crate::error::EngineError;

/// The reference `fromImage` and `tag` (a tag or a digest) name. Without either, docker
/// would pull every tag; berth pulls `latest`.
fn reference(params: &Params) -> Result<Reference, EngineError> {
    let image = param(params, "fromImage").map(String::as_str).unwrap_or("");
    if image.is_empty() {
        return Err(EngineError::Invalid(
            "fromImage or fromSrc is required".into(),
        ));
    }
    let text = match param(params, "tag")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
    {
        Some(digest) if digest.contains(':') => format!("{image}@{digest}"),
        Some(tag) => format!("{image}:{tag}"),
        None => image.to_string(),
    };
    Reference::parse(&text).map_err(|e| EngineError::Invalid(e.to_string()))
}

type PullTask = JoinHandle<Result<PulledImage, DistributionError>>;

/// Starts pulling `reference`; progress events arrive on the returned channel.
fn start(
    engine: &AppState,
    reference: &Reference,
    params: &Params,
    headers: &HeaderMap,
) -> Result<(PullTask, mpsc::UnboundedReceiver<ProgressEvent>), EngineError> {
    let credentials = auth::registry_auth(headers)?;
    let explicit = param(params, "platform").filter(|p| !p.trim().is_empty());
    let platform = match explicit {
        Some(text) => text
            .trim()
            .parse::<Platform>()
            .map_err(|e| EngineError::Invalid(e.to_string()))?,
        None => Platform::host(),
    };
    let client = auth::client(reference.registry(), credentials)
        .map_err(|e| EngineError::Invalid(errors::chain(&e)))?;
    let (tx, rx) = mpsc::unbounded_channel();
    let store = engine.images().clone();
    let options = PullOptions {
        platform,
        strict_platform: explicit.is_some(),
        progress: Arc::new(ChannelProgress(tx)),
        recorder: Some(Arc::new(store.clone())),
        unpacker: Some(Arc::new(SnapshotUnpacker::new(engine.snapshots().clone()))),
        origins: Some(BlobOrigins::new(engine.config().data_root.join("origins"))),
        ..PullOptions::default()
    };
    let reference = reference.clone();
    let task = tokio::spawn(async move {
        distribution::pull::pull(&client, store.content(), &reference, &options).await
    });
    Ok((task, rx))
}

/// `POST /images/create?fromImage=&tag=&platform=` with `X-Registry-Auth`.
pub(crate) async fn pull(
    engine: AppState,
    params: Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let reference = reference(&params)?;
    let before = engine.images().resolve(&reference.to_string()).ok();
    let (mut task, mut events) = start(&engine, &reference, &params, &headers)?;
    // Wait for the first layer event or the end, whichever comes first.
    let mut first = None;
    let mut finished = None;
    tokio::select! {
        event = events.recv() => first = event,
        joined = &mut task => finished = Some(joined),
    }
    if first.is_none() && finished.is_none() {
        // The events channel closed: the pull is ending.
        finished = Some((&mut task).await);
    }
    if let Some(joined) = &finished {
        if let Ok(next) = events.try_recv() {
            first = Some(next);
        }
        if first.is_none() {
            if let Ok(Err(err)) = joined {
                let (status, message) = errors::pull(&reference, err);
                return Ok(error_response(status, &message));
            }
        }
    }
    let (messages, response) = json_stream();
    tokio::spawn(async move {
        let mut progress = LayerProgress::default();
        let id = reference
            .digest()
            .map(ToString::to_string)
            .or(reference.tag().map(str::to_string))
            .unwrap_or_default();
        let header = berth_client::types::progress::JsonMessage {
            id: Some(id),
            ..berth_client::types::progress::JsonMessage::status(format!(
                "Pulling from {}",
                reference.repository()
            ))
        };
        messages.send(&header).await;
        if let Some(event) = first {
            forward(&messages, &mut progress, &event).await;
        }
        let joined = match finished {
            Some(joined) => joined,
            None => loop {
                tokio::select! {
                    Some(event) = events.recv() => forward(&messages, &mut progress, &event).await,
                    joined = &mut task => break joined,
                }
            },
        };
        while let Ok(event) = events.try_recv() {
            forward(&messages, &mut progress, &event).await;
        }
        finish(&engine, &messages, &reference, before, joined).await;
    });
    Ok(response)
}

async fn forward(messages: &Messages, progress: &mut LayerProgress, event: &ProgressEvent) {
    if let Some(message) = progress.message(event) {
        messages.send(&message).await;
    }
}

/// The closing lines: the digest and whether anything new came, or the error.
async fn finish(
    engine: &AppState,
    messages: &Messages,
    reference: &Reference,
    before: Option<berth_image::digest::Digest>,
    joined: Result<Result<PulledImage, DistributionError>, tokio::task::JoinError>,
) {
    let pulled = match joined {
        Ok(Ok(pulled)) => pulled,
        Ok(Err(err)) => return messages.error(errors::pull(reference, &err).1).await,
        Err(err) => return messages.error(format!("pull task failed: {err}")).await,
    };
    let familiar = reference.familiar();
    messages.status(format!("Digest: {}", pulled.digest)).await;
    if before.as_ref() == Some(&pulled.digest) {
        messages
            .status(format!("Status: Image is up to date for {familiar}"))
            .await;
    } else {
        messages
            .status(format!("Status: Downloaded newer image for {familiar}"))
            .await;
    }
    publish(engine, "pull", &familiar, &familiar);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn from_image_and_tag_make_one_reference() {
        let r = reference(&params(&[
            ("fromImage", "localhost:5000/a/b"),
            ("tag", "1.0"),
        ]))
        .unwrap();
        assert_eq!(r.to_string(), "localhost:5000/a/b:1.0");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = reference(&params(&[("fromImage", "busybox"), ("tag", &d)])).unwrap();
        assert_eq!(r.digest().unwrap().to_string(), d);
        let r = reference(&params(&[("fromImage", "busybox:1")])).unwrap();
        assert_eq!(r.tag(), Some("1"));
        assert!(reference(&params(&[])).is_err());
    }
}
