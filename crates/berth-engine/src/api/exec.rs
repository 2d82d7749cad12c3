//! Routes: exec (`docker exec`): create, start (attached or detached, TTY), resize,
//! inspect.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use berth_client::types::containers::CreateResponse;
use berth_client::types::exec::{ExecConfig, ExecInspect, ExecStartConfig, ProcessConfig};
use hyper::{Request, StatusCode};

use super::{hijack, json, json_status, parse_body, ApiResult, AppState};
use crate::error::EngineError;
use crate::exec;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/{id}/exec", post(create))
        .route("/exec/{id}/start", post(start))
        .route("/exec/{id}/resize", post(resize))
        .route("/exec/{id}/json", get(inspect))
}

fn no_such_exec(id: &str) -> EngineError {
    EngineError::NotFound(format!("No such exec instance: {id}"))
}

async fn create(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let config: ExecConfig = parse_body(&body)?;
    let container = engine.containers.get(&id)?;
    let exec_id = exec::create(&engine, &container, config)?;
    Ok(json_status(
        StatusCode::CREATED,
        &CreateResponse {
            id: exec_id,
            warnings: None,
        },
    ))
}

async fn start(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    req: Request<Body>,
) -> ApiResult<Response> {
    let session = engine.execs.get(&id).ok_or_else(|| no_such_exec(&id))?;
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .map_err(|e| EngineError::Invalid(format!("read the request body: {e}")))?;
    let start: ExecStartConfig = parse_body(&bytes)?;
    let req = Request::from_parts(parts, Body::empty());
    if start.detach {
        exec::start(&engine, &session, true).await?;
        return Ok(StatusCode::OK.into_response());
    }
    if session
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .started
    {
        return Err(EngineError::Conflict(format!(
            "Error: Exec command {} has already run",
            session.id
        ))
        .into());
    }
    let tty = session.config.tty.unwrap_or(false) || start.tty;
    let stdin = session.config.attach_stdin.unwrap_or(false);
    let finish_engine = engine.clone();
    let finish_session = session.clone();
    let on_exit: hijack::OnExit = Box::new(move |code| {
        exec::finish(&finish_engine, &finish_session, i64::from(code));
    });
    // Started once the connection is hijacked, as Docker does: a process that cannot start
    // reports why in the stream, and its exit code (126/127) in inspect.
    let start_engine = engine.clone();
    let start_session = session.clone();
    let ready = async move {
        match exec::start(&start_engine, &start_session, false).await {
            Ok(Some(stream)) => Ok(stream),
            Ok(None) => Err(None),
            Err(e) => {
                let (message, code) = crate::container::launch_failure(&e.to_string(), 126);
                exec::finish(&start_engine, &start_session, code);
                Err(Some(format!("OCI runtime exec failed: {message}")))
            }
        }
    };
    if hijack::wants_upgrade(&req) {
        Ok(hijack::upgrade(req, tty, stdin, ready, Some(on_exit)))
    } else {
        Ok(hijack::streamed(tty, ready, Some(on_exit)))
    }
}

async fn resize(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let session = engine.execs.get(&id).ok_or_else(|| no_such_exec(&id))?;
    let (height, width) = super::containers::dimensions(&q)?;
    let container = engine.containers.get(&session.container_id)?;
    let shim = container.shim().ok_or_else(|| {
        EngineError::Conflict(format!("container {} is not running", container.id))
    })?;
    shim.request(&berth_shim::Request::Resize {
        exec_id: Some(id),
        height,
        width,
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}

async fn inspect(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let session = engine.execs.get(&id).ok_or_else(|| no_such_exec(&id))?;
    let state = session
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let config = &session.config;
    let mut argv = config.cmd.clone();
    let entrypoint = if argv.is_empty() {
        String::new()
    } else {
        argv.remove(0)
    };
    Ok(json(&ExecInspect {
        id: session.id.clone(),
        running: state.running,
        exit_code: state.exit_code,
        process_config: ProcessConfig {
            privileged: config.privileged.unwrap_or(false),
            user: config.user.clone().unwrap_or_default(),
            tty: config.tty.unwrap_or(false),
            entrypoint,
            arguments: argv,
        },
        open_stdin: config.attach_stdin.unwrap_or(false),
        open_stderr: config.attach_stderr.unwrap_or(false),
        open_stdout: config.attach_stdout.unwrap_or(false),
        can_remove: !state.running,
        container_id: session.container_id.clone(),
        detach_keys: String::new(),
        pid: state.pid,
    }))
}
