//! `POST /images/{name}/push?tag=`: a push, answered with Docker's JSON progress stream
//! (`The push refers to repository [...]`, per-layer lines, `tag: digest: ... size: N`
//! and an `aux` message with the same facts).

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::response::Response;
use berth_client::types::progress::JsonMessage;
use berth_image::digest::Digest;
use berth_image::distribution::origins::BlobOrigins;
use berth_image::distribution::progress::ChannelProgress;
use berth_image::distribution::push::PushOptions;
use berth_image::distribution::{self, Credentials};
use berth_image::reference::Reference;
use serde_json::json;
use tokio::sync::mpsc;

use super::stream::{json_stream, LayerProgress, Messages};
use super::{auth, errors, familiar_name, param, publish, Params};
use crate::api::{ApiResult, AppState};
use crate::error::EngineError;

/// One tag to push: the reference, the local image it names, and its config (whose
/// progress docker does not show).
struct Target {
    reference: Reference,
    digest: Digest,
    config: Digest,
}

/// Whether `name` carries a tag or digest of its own.
fn has_tag(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name);
    last.contains(':') || name.contains('@')
}

/// What to push: `name:tag`, `name` as given when it has a tag, else every local tag of
/// the repository (as dockerd does without a tag).
fn targets(engine: &AppState, name: &str, params: &Params) -> Result<Vec<Target>, EngineError> {
    let invalid = |e: berth_image::reference::ReferenceError| EngineError::Invalid(e.to_string());
    let tag = param(params, "tag")
        .map(String::as_str)
        .filter(|t| !t.is_empty());
    let references = match tag {
        Some(tag) => vec![Reference::parse(&format!("{name}:{tag}")).map_err(invalid)?],
        None if has_tag(name) => vec![Reference::parse(name).map_err(invalid)?],
        None => {
            let repository = Reference::parse(name).map_err(invalid)?.name();
            let mut all: Vec<Reference> = engine
                .images()
                .list()?
                .into_iter()
                .flat_map(|i| i.references)
                .filter(|r| r.name() == repository)
                .collect();
            all.sort_by_key(ToString::to_string);
            all
        }
    };
    let missing = |r: &Reference| {
        EngineError::NotFound(format!(
            "An image does not exist locally with the tag: {}",
            familiar_name(r)
        ))
    };
    let Some(first) = references.first() else {
        let r = Reference::parse(name).map_err(invalid)?;
        return Err(missing(&r));
    };
    let first = first.clone();
    let mut out = Vec::new();
    for reference in references {
        let (digest, _) = engine
            .images()
            .resolve_name(&reference.to_string())
            .map_err(|_| missing(&first))?;
        let config = engine
            .images()
            .image(&digest)
            .map_err(|e| errors::store(name, e))?
            .config_digest;
        out.push(Target {
            reference,
            digest,
            config,
        });
    }
    Ok(out)
}

/// `POST /images/{name}/push`.
pub(crate) async fn push(
    engine: AppState,
    name: &str,
    params: &Params,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let credentials = auth::registry_auth(headers)?;
    let targets = targets(&engine, name, params)?;
    let (messages, response) = json_stream();
    tokio::spawn(async move {
        let Some(first) = targets.first() else {
            return;
        };
        messages
            .status(format!(
                "The push refers to repository [{}]",
                first.reference.name()
            ))
            .await;
        for target in &targets {
            if let Err(message) = push_one(&engine, &messages, target, credentials.clone()).await {
                messages.error(message).await;
                return;
            }
        }
    });
    Ok(response)
}

/// Pushes one tag, forwarding its progress; the error message on failure.
async fn push_one(
    engine: &AppState,
    messages: &Messages,
    target: &Target,
    credentials: Option<Credentials>,
) -> Result<(), String> {
    let reference = &target.reference;
    let client = auth::client(reference.registry(), credentials).map_err(|e| errors::chain(&e))?;
    let (tx, mut events) = mpsc::unbounded_channel();
    let options = PushOptions {
        progress: Arc::new(ChannelProgress(tx)),
        origins: Some(BlobOrigins::new(engine.config().data_root.join("origins"))),
        ..PushOptions::default()
    };
    let store = engine.images().clone();
    let (digest, task_reference) = (target.digest.clone(), reference.clone());
    let mut task = tokio::spawn(async move {
        distribution::push::push(&client, store.content(), &digest, &task_reference, &options).await
    });
    let mut progress = LayerProgress::default();
    let joined = loop {
        tokio::select! {
            Some(event) = events.recv() => {
                if event.digest != target.config {
                    if let Some(message) = progress.message(&event) {
                        messages.send(&message).await;
                    }
                }
            }
            joined = &mut task => break joined,
        }
    };
    while let Ok(event) = events.try_recv() {
        if event.digest != target.config {
            if let Some(message) = progress.message(&event) {
                messages.send(&message).await;
            }
        }
    }
    let pushed = match joined {
        Ok(Ok(pushed)) => pushed,
        Ok(Err(err)) => return Err(errors::chain(&err)),
        Err(err) => return Err(format!("push task failed: {err}")),
    };
    let size = engine.images().content().size(&pushed).unwrap_or(0);
    let tag = reference
        .tag()
        .map(str::to_string)
        .unwrap_or_else(|| pushed.to_string());
    messages
        .status(format!("{tag}: digest: {pushed} size: {size}"))
        .await;
    messages
        .send(&JsonMessage {
            progress_detail: Some(Default::default()),
            aux: Some(json!({ "Tag": tag, "Digest": pushed.to_string(), "Size": size })),
            ..JsonMessage::default()
        })
        .await;
    let familiar = reference.familiar();
    publish(engine, "push", &familiar, &familiar);
    Ok(())
}
