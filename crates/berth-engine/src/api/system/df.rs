//! `GET /system/df`: what images, containers and volumes take on disk.

use std::collections::{HashMap, HashSet};

use axum::extract::{Query, State};
use axum::response::Response;
use berth_client::types::containers::ContainerSummary;
use berth_client::types::images::ImageSummary;
use berth_client::types::volumes::{Volume, VolumeUsage};

use crate::api::{json, ApiResult, AppState};
use crate::container::Container;
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// `GET /system/df[?type=container&type=image...]`.
pub async fn disk_usage(
    State(engine): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let mut wanted: HashSet<String> = params
        .into_iter()
        .filter(|(k, _)| k == "type")
        .map(|(_, v)| v)
        .collect();
    for kind in &wanted {
        if !matches!(
            kind.as_str(),
            "container" | "image" | "volume" | "build-cache"
        ) {
            return Err(EngineError::Invalid(format!("unknown object type: {kind}")).into());
        }
    }
    if wanted.is_empty() {
        wanted.extend(["container", "image", "volume", "build-cache"].map(String::from));
    }
    let value = tokio::task::spawn_blocking(move || usage(&engine, &wanted))
        .await
        .map_err(|e| EngineError::Internal(format!("measure disk usage: {e}")))??;
    Ok(json(&value))
}

fn usage(engine: &Engine, wanted: &HashSet<String>) -> Result<serde_json::Value> {
    let mut out = serde_json::Map::new();
    let containers = engine.containers.all();
    if wanted.contains("image") {
        let (layers_size, images) = images(engine, &containers)?;
        out.insert("LayersSize".into(), layers_size.into());
        out.insert("Images".into(), to_value(&images)?);
    }
    if wanted.contains("container") {
        let summaries: Vec<ContainerSummary> = containers
            .iter()
            .map(|c| container_summary(engine, c))
            .collect();
        out.insert("Containers".into(), to_value(&summaries)?);
    }
    if wanted.contains("volume") {
        out.insert("Volumes".into(), to_value(&volumes(engine)?)?);
    }
    if wanted.contains("build-cache") {
        out.insert("BuildCache".into(), serde_json::Value::Array(Vec::new()));
    }
    Ok(serde_json::Value::Object(out))
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value)
        .map_err(|e| EngineError::Internal(format!("encode disk usage: {e}")))
}

/// The bytes of all distinct layers, and each image with the containers using it and the
/// bytes it shares with other images.
fn images(
    engine: &Engine,
    containers: &[std::sync::Arc<Container>],
) -> Result<(i64, Vec<ImageSummary>)> {
    let store = engine.images();
    let mut users: HashMap<String, i64> = HashMap::new();
    for c in containers {
        *users.entry(c.with(|r| r.image_id.clone())).or_default() += 1;
    }
    let mut loaded = Vec::new();
    let mut layer_images: HashMap<String, (u64, usize)> = HashMap::new();
    for summary in store.list()? {
        let image = store.image(&summary.manifest_digest)?;
        let layers: Vec<(String, u64)> = image
            .layers
            .iter()
            .map(|l| (l.digest().to_string(), l.size()))
            .collect();
        for (digest, size) in &layers {
            layer_images.entry(digest.clone()).or_insert((*size, 0)).1 += 1;
        }
        let labels = image
            .config
            .config()
            .as_ref()
            .and_then(|c| c.labels().clone())
            .unwrap_or_default();
        loaded.push((summary, layers, labels));
    }
    let layers_size = layer_images.values().map(|(size, _)| *size as i64).sum();
    let images = loaded
        .into_iter()
        .map(|(summary, layers, labels)| {
            let id = summary.id.to_string();
            let shared = layers
                .iter()
                .filter(|(d, _)| layer_images.get(d).is_some_and(|(_, n)| *n > 1))
                .map(|(_, size)| *size as i64)
                .sum();
            ImageSummary {
                containers: users.get(&id).copied().unwrap_or(0),
                parent_id: String::new(),
                repo_tags: summary.references.iter().map(|r| r.familiar()).collect(),
                repo_digests: summary.repo_digests.iter().map(|r| r.familiar()).collect(),
                created: summary
                    .created
                    .as_deref()
                    .and_then(|t| crate::api::query::timestamp(t).ok())
                    .map(|ns| (ns / 1_000_000_000) as i64)
                    .unwrap_or(0),
                size: summary.size as i64,
                shared_size: shared,
                labels: labels.into_iter().collect(),
                id,
            }
        })
        .collect();
    Ok((layers_size, images))
}

/// Volumes with their size and how many containers use them.
fn volumes(engine: &Engine) -> Result<Vec<Volume>> {
    let store = engine.volumes();
    let mut out = store.list()?;
    for volume in &mut out {
        volume.usage_data = Some(VolumeUsage {
            size: store.usage(&volume.name).map(|n| n as i64).unwrap_or(-1),
            ref_count: engine.volume_users(&volume.name).len() as i64,
        });
    }
    Ok(out)
}

/// A container as `docker ps` lists it, with the sizes of its writable layer and of its
/// whole root file system.
fn container_summary(engine: &Engine, container: &Container) -> ContainerSummary {
    let mut summary = crate::container::view::summary(container);
    let size_rw = crate::container::remove::dir_size(&container.dir().join("upper")) as i64;
    let image_size = engine
        .images()
        .get(&summary.image_id)
        .map(|i| i.layers.iter().map(|l| l.size()).sum::<u64>() as i64)
        .unwrap_or(0);
    summary.size_rw = Some(size_rw);
    summary.size_root_fs = Some(size_rw + image_size);
    summary
}
