//! `GET /images/{name}/get`, `GET /images/get?names=` (docker save) and
//! `POST /images/load` (docker load), on blocking threads: the archive code is
//! synchronous, the bytes cross to the connection through a channel.

use std::io::BufReader;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::Response;
use berth_client::types::progress::JsonMessage;
use berth_image::archive::{self, Format};
use futures_util::TryStreamExt;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::stream::{json_line, response, ChannelWriter};
use super::{errors, param, params_all, publish, Params};
use crate::api::{query, ApiResult, AppState};
use crate::error::EngineError;

/// `GET /images/get?names=a&names=b`.
pub(crate) async fn save_many(
    State(engine): State<AppState>,
    Query(params): Query<Params>,
) -> ApiResult<Response> {
    let names: Vec<String> = params_all(&params, "names")
        .into_iter()
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return Err(EngineError::Invalid("no images named: use names=IMAGE".into()).into());
    }
    save(engine, names).await
}

/// Streams the docker-archive tar of `names`. Every name is looked up first, so that a
/// missing one is a 404 rather than a broken download.
pub(crate) async fn save(engine: AppState, names: Vec<String>) -> ApiResult<Response> {
    let mut ids = Vec::new();
    for name in &names {
        let image = engine
            .images()
            .get(name)
            .map_err(|e| errors::store(name, e))?;
        ids.push(image.config_digest.to_string());
    }
    let (tx, rx) = mpsc::channel(16);
    let store = engine.images().clone();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let writer = ChannelWriter::new(tx.clone());
        match archive::save(&store, &refs, writer, Format::DockerArchive) {
            Ok(mut writer) => match std::io::Write::flush(&mut writer) {
                Ok(()) => {
                    for id in &ids {
                        publish(&engine, "save", id, id);
                    }
                }
                Err(e) => writer.fail(e),
            },
            Err(e) => {
                tracing::warn!(error = %errors::chain(&e), "image save failed");
                let _ = tx.blocking_send(Err(std::io::Error::other(errors::chain(&e))));
            }
        }
    });
    Ok(response(rx, "application/x-tar"))
}

/// `POST /images/load?quiet=`: the body is a docker-save or OCI-layout tar.
pub(crate) async fn load(
    State(engine): State<AppState>,
    Query(params): Query<Params>,
    body: Body,
) -> ApiResult<Response> {
    // `quiet` hides dockerd's per-layer progress, which berth's load does not send; the
    // "Loaded image" lines come either way, as with dockerd.
    let _quiet = query::flag(param(&params, "quiet"));
    let reader = StreamReader::new(body.into_data_stream().map_err(std::io::Error::other));
    let bridge = SyncIoBridge::new(reader);
    let store = engine.images().clone();
    let loaded = tokio::task::spawn_blocking(move || archive::load(&store, BufReader::new(bridge)))
        .await
        .map_err(|e| EngineError::Internal(format!("load images: {e}")))?
        .map_err(errors::archive)?;
    let mut out = Vec::new();
    for image in &loaded {
        let id = image.id.to_string();
        let line = match &image.reference {
            Some(reference) => {
                publish(&engine, "load", &id, &reference.familiar());
                format!("Loaded image: {}\n", reference.familiar())
            }
            None => {
                publish(&engine, "load", &id, &id);
                format!("Loaded image ID: {id}\n")
            }
        };
        out.extend_from_slice(&json_line(&JsonMessage {
            stream: Some(line),
            ..JsonMessage::default()
        }));
    }
    Ok(Response::builder()
        .header("Content-Type", "application/json")
        .body(Body::from(out))
        .map_err(|e| EngineError::Internal(e.to_string()))?)
}
