//! `GET /containers/{id}/export`: a tar of the container's root filesystem (the overlay,
//! without volumes, as dockerd), streamed as it is written; event `export`.

use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::response::Response;

use super::fsview::{self, Mounts};
use super::{blocking_body, lookup};
use crate::api::{ApiResult, AppState};
use crate::archive;
use crate::container::view::event_attributes;

/// The handler.
pub async fn export(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let container = lookup(&engine, &id)?;
    let (body, mut writer) = blocking_body();
    let done = fsview::run(
        &engine,
        &container,
        Mounts::Excluded,
        move |root| match archive::export(root, &mut writer) {
            Ok(()) => Ok(()),
            Err(e) => {
                writer.fail(std::io::Error::other(e.to_string()));
                Err(e.into())
            }
        },
    );
    let events = engine.clone();
    let for_event = container.clone();
    tokio::spawn(async move {
        match done.await {
            Ok(()) => events.events().publish(
                "container",
                "export",
                &for_event.id,
                event_attributes(&for_event),
            ),
            Err(e) => tracing::debug!(id = %for_event.id, error = %e, "export ended early"),
        }
    });
    let mut response = Response::new(body);
    response.headers_mut().insert(
        "Content-Type",
        HeaderValue::from_static("application/x-tar"),
    );
    Ok(response)
}
