//! Routes: volumes — list, create, inspect, remove, prune (the `local` driver of
//! [`crate::volumes::VolumeStore`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use berth_client::types::volumes::{Volume, VolumeCreateRequest};
use hyper::StatusCode;

use super::query::{self, flag};
use super::{json, json_status, parse_body, ApiResult, AppState};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::volumes::{CreateVolume, PruneFilter, VolumeError};

/// The volumes routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/volumes", get(list))
        .route("/volumes/create", post(create))
        .route("/volumes/prune", post(prune))
        .route("/volumes/{name}", get(inspect).delete(remove))
}

/// Publishes a volume event (`create`, `destroy`).
fn publish(engine: &Engine, action: &str, name: &str, driver: &str) {
    let attributes = BTreeMap::from([("driver".to_string(), driver.to_string())]);
    engine.events().publish("volume", action, name, attributes);
}

/// `GET /volumes`.
async fn list(
    State(engine): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let filters = query::filters(params.get("filters"))?;
    query::check_keys(&filters, &["dangling", "driver", "label", "name"])?;
    let dangling = match filters.get("dangling").map(Vec::as_slice) {
        None | Some([]) => None,
        Some([one]) => Some(match one.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(EngineError::Invalid(format!("invalid filter 'dangling={one}'")).into())
            }
        }),
        Some(_) => {
            return Err(EngineError::Invalid(
                "got more than one value for filter key \"dangling\"".into(),
            )
            .into())
        }
    };
    let store = engine.volumes();
    let volumes: Vec<Volume> = store
        .list()?
        .into_iter()
        .filter(|v| {
            let contains = |key: &str, value: &str| {
                filters
                    .get(key)
                    .is_none_or(|wanted| wanted.iter().any(|w| value.contains(w.as_str())))
            };
            contains("name", &v.name)
                && filters
                    .get("driver")
                    .is_none_or(|wanted| wanted.contains(&v.driver))
                && query::labels_match(&filters, &v.labels)
                && dangling.is_none_or(|want| engine.volume_users(&v.name).is_empty() == want)
        })
        .collect();
    Ok(json(
        &serde_json::json!({ "Volumes": volumes, "Warnings": [] }),
    ))
}

/// `POST /volumes/create`: 201 with the volume (the existing one for a taken name).
async fn create(State(engine): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let request: VolumeCreateRequest = parse_body(&body)?;
    let name = request.name.filter(|n| !n.is_empty());
    let existed = match &name {
        Some(name) => engine.volumes().inspect(name).is_ok(),
        None => false,
    };
    let volume = engine.volumes().create(CreateVolume {
        name,
        driver: request.driver.filter(|d| !d.is_empty()),
        driver_opts: request.driver_opts.unwrap_or_default(),
        labels: request.labels.unwrap_or_default(),
    })?;
    if !existed {
        publish(&engine, "create", &volume.name, &volume.driver);
    }
    Ok(json_status(StatusCode::CREATED, &volume))
}

/// `GET /volumes/{name}`.
async fn inspect(State(engine): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    Ok(json(&engine.volumes().inspect(&name)?))
}

/// `DELETE /volumes/{name}[?force=1]`: 409 while containers use it; `force` only makes a
/// missing volume not an error, as with dockerd.
async fn remove(
    State(engine): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let force = flag(params.get("force"));
    let driver = match engine.volumes().inspect(&name) {
        Ok(volume) => volume.driver,
        Err(VolumeError::NotFound(_)) if force => return Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) => return Err(e.into()),
    };
    let users = engine.volume_users(&name);
    engine.volumes().remove(&name, &users)?;
    publish(&engine, "destroy", &name, &driver);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /volumes/prune`: anonymous volumes no container uses (`all=true`: named ones too).
async fn prune(
    State(engine): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let filters = query::filters(params.get("filters"))?;
    query::check_keys(&filters, &["all", "label", "label!"])?;
    let all = match filters.get("all").map(Vec::as_slice) {
        None | Some([]) => false,
        Some([one]) => match one.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(EngineError::Invalid(format!("invalid filter 'all={one}'")).into()),
        },
        Some(_) => {
            return Err(EngineError::Invalid(
                "got more than one value for filter key \"all\"".into(),
            )
            .into())
        }
    };
    let filter = PruneFilter {
        all,
        labels: filters.get("label").cloned().unwrap_or_default(),
        not_labels: filters.get("label!").cloned().unwrap_or_default(),
    };
    let engine2 = engine.clone();
    let (deleted, space) = tokio::task::spawn_blocking(move || -> Result<(Vec<String>, u64)> {
        let in_use = volumes_in_use(&engine2);
        Ok(engine2.volumes().prune(&in_use, &filter)?)
    })
    .await
    .map_err(|e| EngineError::Internal(format!("prune volumes: {e}")))??;
    for name in &deleted {
        publish(&engine, "destroy", name, "local");
    }
    Ok(json(&serde_json::json!({
        "VolumesDeleted": deleted,
        "SpaceReclaimed": space,
    })))
}

/// Names of the volumes some container mounts.
fn volumes_in_use(engine: &Engine) -> HashSet<String> {
    engine
        .containers
        .all()
        .into_iter()
        .flat_map(|c| {
            c.with(|r| {
                r.mounts
                    .iter()
                    .filter(|m| m.r#type == "volume")
                    .filter_map(|m| m.name.clone())
                    .collect::<Vec<_>>()
            })
        })
        .collect()
}
