//! `POST /build` (the legacy builder's API, what `DOCKER_BUILDKIT=0 docker build` calls)
//! and `POST /build/prune`.
//!
//! The body is the context tar; the query says what to build. The context is unpacked
//! into a work directory, the Dockerfile read and parsed (a missing or unparsable one is
//! a plain 400, as dockerd answers), then the build runs on its own task through
//! [`berth_build::executor::Builder`] with the engine's [`EngineStepRunner`]. Its events
//! become Docker's JSON messages (`{"stream": "Step 1/3 : FROM busybox\n"}`, ...). As
//! dockerd does, nothing is sent before the first message: a failure by then is a plain
//! HTTP error; after it, a failure is the stream's last message (`errorDetail`).

mod context;
mod messages;
mod params;
mod retained;

use std::path::Path;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use berth_build::executor::{BuildError, BuildEvent, BuildResult, Builder};
use berth_client::types::progress::JsonMessage;
use tokio::sync::mpsc;

use super::images::stream::json_stream;
use super::images::Params;
use super::{error_response, json, ApiResult, AppState};
use crate::build_runner::EngineStepRunner;
use crate::error::EngineError;
use context::WorkDir;
use params::BuildParams;

/// The build routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/build", post(build))
        .route("/build/prune", post(prune))
}

/// What the build task reports to the answer.
enum Report {
    /// A message for the client.
    Message(JsonMessage),
    /// The end of the build.
    Done(Result<BuildResult, BuildError>),
}

/// `POST /build`.
async fn build(
    State(engine): State<AppState>,
    Query(params): Query<Params>,
    body: Body,
) -> ApiResult<Response> {
    let request = BuildParams::parse(&params)?;
    let data_root = engine.config().data_root.clone();
    let mut work = match &request.context_dir {
        Some((dir, id)) => context::in_place(&data_root, Path::new(dir), id)?,
        None => context::receive(&data_root, body).await?,
    };
    let (dockerfile_name, dockerfile) =
        context::read_dockerfile(work.context(), &request.dockerfile)?;
    // Syntax errors are the client's, answered before anything runs.
    let parsed =
        berth_build::parse(&dockerfile).map_err(|e| EngineError::Invalid(e.to_string()))?;
    if work.is_live() && context::reads_context_beyond_copy(&parsed) {
        work = tokio::task::spawn_blocking(move || work.into_private_copy())
            .await
            .map_err(|e| EngineError::Internal(format!("copy the build context: {e}")))??;
    }

    let quiet = request.quiet;
    let live = work.is_live();
    let mut build_request = request.into_request(work.context(), live, dockerfile_name, dockerfile);
    build_request.stable_context = work.is_retained();
    let (tx, mut rx) = mpsc::channel(64);
    tokio::spawn(run(engine.clone(), work, build_request, quiet, tx));

    let first = match rx.recv().await {
        Some(Report::Message(message)) => message,
        Some(Report::Done(Ok(result))) => {
            // Quiet builds send nothing before their end.
            messages::publish_tags(&engine, &result);
            let (messages, response) = json_stream();
            tokio::spawn(async move {
                for message in messages::success(&result, quiet) {
                    if !messages.send(&message).await {
                        break;
                    }
                }
            });
            return Ok(response);
        }
        Some(Report::Done(Err(e))) => {
            return Ok(error_response(messages::status(&e), &e.to_string()));
        }
        None => {
            return Err(
                EngineError::Internal("the build task ended without an answer".into()).into(),
            )
        }
    };
    let (messages, response) = json_stream();
    tokio::spawn(async move {
        let mut next = Some(Report::Message(first));
        while let Some(report) = next.take() {
            match report {
                Report::Message(message) => {
                    // A client that went away does not stop the build: its task runs on
                    // and cleans up.
                    messages.send(&message).await;
                }
                Report::Done(Ok(result)) => {
                    messages::publish_tags(&engine, &result);
                    for message in messages::success(&result, quiet) {
                        messages.send(&message).await;
                    }
                }
                Report::Done(Err(e)) => {
                    messages.send(&messages::failure(&e)).await;
                }
            }
            next = rx.recv().await;
        }
    });
    Ok(response)
}

/// Runs the build, reporting its messages and its end on `tx`; the work directory goes
/// when it ends.
async fn run(
    engine: AppState,
    work: WorkDir,
    request: berth_build::executor::BuildRequest,
    quiet: bool,
    tx: mpsc::Sender<Report>,
) {
    let builder = Builder::new(
        engine.config().data_root.clone(),
        engine.images().clone(),
        engine.snapshots().clone(),
    )
    .with_file_digests(engine.build_file_digests().clone());
    let runner = EngineStepRunner::new(engine.clone());
    let (events_tx, mut events) = mpsc::channel::<BuildEvent>(64);
    // A step's result is held back until the next event: the last one is shown as the
    // built image's id, as the legacy builder's last ` ---> id` is "Successfully built id".
    let forward = async {
        let mut held: Option<BuildEvent> = None;
        while let Some(event) = events.recv().await {
            if quiet {
                continue;
            }
            if let Some(previous) = held.take() {
                if let Some(message) = messages::event(&previous) {
                    let _ = tx.send(Report::Message(message)).await;
                }
            }
            if matches!(event, BuildEvent::StepResult(_)) {
                held = Some(event);
            } else if let Some(message) = messages::event(&event) {
                let _ = tx.send(Report::Message(message)).await;
            }
        }
        held
    };
    let (result, held) = tokio::join!(builder.build(request, &runner, events_tx), forward);
    drop(work);
    let last = match (&result, held) {
        (Ok(built), Some(BuildEvent::StepResult(_))) => {
            Some(BuildEvent::StepResult(built.image_id.clone()))
        }
        (_, held) => held,
    };
    if let Some(message) = last.as_ref().and_then(messages::event) {
        let _ = tx.send(Report::Message(message)).await;
    }
    let _ = tx.send(Report::Done(result)).await;
}

/// `POST /build/prune`: empties the build cache.
async fn prune(State(engine): State<AppState>) -> ApiResult<Response> {
    let data_root = engine.config().data_root.clone();
    let cache = data_root.join("build-cache");
    let retained = context::retained_root(&data_root);
    let reclaimed = tokio::task::spawn_blocking(move || -> Result<u64, EngineError> {
        Ok(empty_dir(&cache)? + retained::Slot::prune(&retained)?)
    })
    .await
    .map_err(|e| EngineError::Internal(format!("prune the build cache: {e}")))??;
    Ok(json(&serde_json::json!({
        "CachesDeleted": [],
        "SpaceReclaimed": reclaimed,
    })))
}

/// Removes everything in `dir` (not `dir` itself); answers the bytes freed.
fn empty_dir(dir: &Path) -> Result<u64, EngineError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(EngineError::io("read", dir, e)),
    };
    let mut freed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| EngineError::io("read", dir, e))?;
        let path = entry.path();
        freed += crate::container::remove::dir_size(&path);
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| EngineError::io("remove", &path, e))?;
    }
    Ok(freed)
}
