//! Routes: the container lifecycle (create, start, stop, kill, restart, wait, remove,
//! inspect, list, attach, resize, rename, pause, unpause, prune).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use berth_client::types::containers::{ContainerCreateRequest, ContainerStatus};
use hyper::{Request, StatusCode};

use super::query::{check_keys, filters, flag, labels_match, Filters};
use super::{hijack, json, json_status, parse_body, ApiResult, AppState};
use crate::container::{self, stop::WaitCondition, Container, PendingAttach};
use crate::engine::Engine;
use crate::error::EngineError;

type Params = Query<HashMap<String, String>>;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/json", get(list))
        .route("/containers/create", post(create))
        .route("/containers/prune", post(prune))
        .route("/containers/{id}/json", get(inspect))
        .route("/containers/{id}/start", post(start))
        .route("/containers/{id}/stop", post(stop))
        .route("/containers/{id}/restart", post(restart))
        .route("/containers/{id}/kill", post(kill))
        .route("/containers/{id}/wait", post(wait))
        .route("/containers/{id}/pause", post(pause))
        .route("/containers/{id}/unpause", post(unpause))
        .route("/containers/{id}/rename", post(rename))
        .route("/containers/{id}/resize", post(resize))
        .route("/containers/{id}/attach", post(attach))
        .route("/containers/{id}", delete(remove))
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn create(
    State(engine): State<AppState>,
    Query(q): Params,
    body: Bytes,
) -> ApiResult<Response> {
    let request: ContainerCreateRequest = parse_body(&body)?;
    if let Some(platform) = q.get("platform").filter(|p| !p.is_empty()) {
        if !platform.starts_with("linux") {
            return Err(EngineError::Invalid(format!(
                "image platform {platform} is not supported: berth runs linux containers"
            ))
            .into());
        }
    }
    let response = container::create::create(&engine, q.get("name").cloned(), request).await?;
    Ok(json_status(StatusCode::CREATED, &response))
}

async fn inspect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    let mut view = container::view::inspect(&c, engine.execs.running_of(&c.id));
    if flag(q.get("size")) {
        let rw = container::remove::dir_size(&c.dir().join("upper")) as i64;
        view.size_rw = Some(rw);
        view.size_root_fs = Some(rw + image_size(&engine, &c));
    }
    Ok(json(&view))
}

fn image_size(engine: &Engine, c: &Container) -> i64 {
    let digest = c.with(|r| r.image_digest.clone());
    engine
        .images()
        .get(&digest)
        .map(|image| image.layers.iter().map(|l| l.size() as i64).sum())
        .unwrap_or(0)
}

/// Whether a container passes the list filters.
fn matches(engine: &Engine, c: &Container, f: &Filters) -> bool {
    let r = c.record();
    let any = |key: &str, pred: &dyn Fn(&str) -> bool| {
        f.get(key).is_none_or(|vs| vs.iter().any(|v| pred(v)))
    };
    let status = serde_json::to_value(r.state.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    labels_match(f, &r.config.labels.clone().unwrap_or_default())
        && any("status", &|v| v == status)
        && any("id", &|v| r.id.starts_with(v))
        && any("name", &|v| r.name.contains(v.trim_start_matches('/')))
        && any("exited", &|v| {
            r.state.status == ContainerStatus::Exited
                && v.parse::<i64>().ok() == Some(r.state.exit_code)
        })
        && any("ancestor", &|v| {
            r.config.image.as_deref() == Some(v)
                || r.image_id == v
                || r.image_id
                    .trim_start_matches("sha256:")
                    .starts_with(v.trim_start_matches("sha256:"))
                || engine
                    .images()
                    .resolve(v)
                    .map(|d| d.to_string() == r.image_digest)
                    .unwrap_or(false)
        })
        && any("network", &|v| {
            r.networks.contains_key(v)
                || r.networks
                    .values()
                    .any(|s| s.network_id.as_deref() == Some(v))
        })
        && any("volume", &|v| {
            r.mounts
                .iter()
                .any(|m| m.name.as_deref() == Some(v) || m.destination == v || m.source == v)
        })
        && any("health", &|v| {
            let have = r
                .state
                .health
                .as_ref()
                .map(|h| h.status.as_str())
                .unwrap_or("none");
            have == v
        })
        && any("is-task", &|v| v == "false")
}

async fn list(State(engine): State<AppState>, Query(q): Params) -> ApiResult<Response> {
    let f = filters(q.get("filters"))?;
    check_keys(
        &f,
        &[
            "status", "label", "id", "name", "exited", "ancestor", "network", "volume", "health",
            "before", "since", "is-task", "publish", "expose",
        ],
    )?;
    let limit: Option<usize> = q
        .get("limit")
        .and_then(|l| l.parse::<i64>().ok())
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let all = flag(q.get("all")) || limit.is_some();
    let mut containers = engine.containers.all();
    containers.sort_by_key(|c| std::cmp::Reverse(c.with(|r| r.created.clone())));
    let created_of = |text: &str| {
        engine
            .containers
            .get(text)
            .ok()
            .map(|c| c.with(|r| r.created.clone()))
    };
    let before = f
        .get("before")
        .and_then(|v| v.first())
        .map(|v| {
            created_of(v).ok_or_else(|| EngineError::NotFound(format!("No such container: {v}")))
        })
        .transpose()?;
    let since = f
        .get("since")
        .and_then(|v| v.first())
        .map(|v| {
            created_of(v).ok_or_else(|| EngineError::NotFound(format!("No such container: {v}")))
        })
        .transpose()?;
    let size = flag(q.get("size"));
    let mut out = Vec::new();
    for c in containers {
        let (running, created) = c.with(|r| (r.state.is_running(), r.created.clone()));
        if !all && !running && !f.contains_key("status") {
            continue;
        }
        if before.as_ref().is_some_and(|b| created >= *b)
            || since.as_ref().is_some_and(|s| created <= *s)
        {
            continue;
        }
        if !matches(&engine, &c, &f) {
            continue;
        }
        let mut summary = container::view::summary(&c);
        if size {
            let rw = container::remove::dir_size(&c.dir().join("upper")) as i64;
            summary.size_rw = Some(rw);
            summary.size_root_fs = Some(rw + image_size(&engine, &c));
        }
        out.push(summary);
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    Ok(json(&out))
}

async fn start(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    container::start::start(&engine, &c).await?;
    Ok(no_content())
}

fn timeout_of(q: &HashMap<String, String>) -> ApiResult<Option<i64>> {
    match q
        .get("t")
        .or_else(|| q.get("timeout"))
        .filter(|t| !t.is_empty())
    {
        Some(t) => Ok(Some(t.parse().map_err(|_| {
            EngineError::Invalid(format!("invalid timeout `{t}`"))
        })?)),
        None => Ok(None),
    }
}

async fn stop(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    let timeout = timeout_of(&q)?;
    container::stop::stop(&engine, &c, timeout, q.get("signal").map(String::as_str)).await?;
    Ok(no_content())
}

async fn restart(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    let timeout = timeout_of(&q)?;
    container::stop::restart(&engine, &c, timeout, q.get("signal").map(String::as_str)).await?;
    Ok(no_content())
}

async fn kill(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    container::stop::kill(&engine, &c, q.get("signal").map(String::as_str)).await?;
    Ok(no_content())
}

async fn wait(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    let condition: WaitCondition = q
        .get("condition")
        .map(String::as_str)
        .unwrap_or("")
        .parse()?;
    // Docker sends the headers at once and the body when the condition is met; clients
    // (the CLI's `run`) rely on the headers arriving before they start the container.
    let (sender, receiver) = tokio::sync::oneshot::channel::<Bytes>();
    tokio::spawn(async move {
        let code = container::stop::wait(&c, condition).await;
        let body = serde_json::json!({ "StatusCode": code, "Error": null }).to_string();
        let _ = sender.send(Bytes::from(body + "\n"));
    });
    let stream = futures_util::stream::once(async move {
        receiver
            .await
            .map_err(|_| std::io::Error::other("the wait was abandoned"))
    });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}

async fn pause(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    container::stop::pause(&engine, &c)?;
    Ok(no_content())
}

async fn unpause(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    container::stop::unpause(&engine, &c)?;
    Ok(no_content())
}

async fn rename(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    let name = q
        .get("name")
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default();
    container::create::validate_name(&name)?;
    let old = engine.containers.rename(&c, &name)?;
    let mut attributes = container::view::event_attributes(&c);
    attributes.insert("oldName".into(), format!("/{old}"));
    engine
        .events()
        .publish("container", "rename", &c.id, attributes);
    Ok(no_content())
}

async fn resize(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    let (height, width) = dimensions(&q)?;
    let shim = c
        .shim()
        .ok_or_else(|| EngineError::Conflict(format!("Container {} is not running", c.id)))?;
    shim.request(&berth_shim::Request::Resize {
        exec_id: None,
        height,
        width,
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}

/// `h` and `w` query values.
pub fn dimensions(q: &HashMap<String, String>) -> ApiResult<(u16, u16)> {
    let get = |key: &str| -> ApiResult<u16> {
        q.get(key).and_then(|v| v.parse().ok()).ok_or_else(|| {
            EngineError::Invalid(format!(
                "invalid or missing `{key}` (a number of {})",
                if key == "h" { "rows" } else { "columns" }
            ))
            .into()
        })
    };
    Ok((get("h")?, get("w")?))
}

async fn attach(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
    req: Request<Body>,
) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    let stdin = flag(q.get("stdin"));
    let stdout = flag(q.get("stdout"));
    let stderr = flag(q.get("stderr"));
    let tty = c.with(|r| r.config.tty.unwrap_or(false));
    let stream = attach_stream(&c, stdin, stdout, stderr).await;
    engine.events().publish(
        "container",
        "attach",
        &c.id,
        container::view::event_attributes(&c),
    );
    if hijack::wants_upgrade(&req) {
        Ok(hijack::upgrade(req, tty, stdin, stream, None))
    } else {
        Ok(hijack::streamed(tty, stream, None))
    }
}

/// The shim stream of an attach: now if a process runs, else at the next start.
async fn attach_stream(
    c: &Arc<Container>,
    stdin: bool,
    stdout: bool,
    stderr: bool,
) -> impl std::future::Future<Output = hijack::ShimStream> + Send + 'static {
    // Under the operation lock, so a start cannot slip between the check and the queueing.
    let _op = c.op.lock().await;
    let (reply, receiver) = tokio::sync::oneshot::channel();
    match c.shim() {
        Some(shim) => {
            tokio::spawn(async move {
                let request = berth_shim::Request::Attach {
                    stdin,
                    stdout,
                    stderr,
                };
                if let Ok((_, stream)) = shim.open_stream(&request).await {
                    let _ = reply.send(stream);
                }
            });
        }
        None => c.add_pending_attach(PendingAttach {
            stdin,
            stdout,
            stderr,
            reply,
        }),
    }
    async move { receiver.await.map_err(|_| None) }
}

async fn remove(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> ApiResult<Response> {
    let c = engine.containers.get(&id)?;
    if flag(q.get("link")) {
        return Err(
            EngineError::NotImplemented("legacy links are not supported by berth".into()).into(),
        );
    }
    container::remove::remove(&engine, &c, flag(q.get("force")), flag(q.get("v"))).await?;
    Ok(no_content())
}

async fn prune(State(engine): State<AppState>, Query(q): Params) -> ApiResult<Response> {
    let f = filters(q.get("filters"))?;
    check_keys(&f, &["label", "label!", "until"])?;
    let until = f
        .get("until")
        .and_then(|v| v.first())
        .map(|v| until_nanos(v))
        .transpose()?;
    let keep = |c: &Container| {
        let (labels, created) = c.with(|r| {
            (
                r.config.labels.clone().unwrap_or_default(),
                r.created.clone(),
            )
        });
        let excluded = f.get("label!").is_some_and(|vs| {
            vs.iter().any(|w| match w.split_once('=') {
                Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
                None => labels.contains_key(w.as_str()),
            })
        });
        let too_new = until.is_some_and(|u| {
            super::query::timestamp(&created)
                .map(|t| t > u)
                .unwrap_or(false)
        });
        !labels_match(&f, &labels) || excluded || too_new
    };
    let (removed, reclaimed) = container::remove::prune(&engine, keep).await?;
    engine.events().publish(
        "container",
        "prune",
        "",
        [("reclaimed".to_string(), reclaimed.to_string())].into(),
    );
    Ok(json(&serde_json::json!({
        "ContainersDeleted": removed,
        "SpaceReclaimed": reclaimed,
    })))
}

/// `until` in prune filters: a timestamp or a Go duration before now (`24h`, `10m`).
pub fn until_nanos(text: &str) -> Result<i128, EngineError> {
    if let Ok(d) = humantime::parse_duration(text) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        return Ok(now.saturating_sub(d).as_nanos() as i128);
    }
    super::query::timestamp(text)
}
