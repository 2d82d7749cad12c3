//! A build's events in the legacy builder's JSON messages, and its errors in dockerd's
//! words and statuses.

use berth_build::executor::{BuildError, BuildEvent, BuildResult};
use berth_client::types::progress::{ErrorDetail, JsonMessage};
use hyper::StatusCode;

use crate::api::images::{publish, short_id};
use crate::engine::Engine;

/// `{"stream": text}`.
fn stream(text: impl Into<String>) -> JsonMessage {
    JsonMessage {
        stream: Some(text.into()),
        ..JsonMessage::default()
    }
}

/// Text as one line: a newline added when missing.
fn line(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// The message for an event (every event has one today).
pub fn event(event: &BuildEvent) -> Option<JsonMessage> {
    Some(stream(match event {
        BuildEvent::Step {
            number,
            total,
            text,
        } => format!("Step {number}/{total} : {}", line(text)),
        BuildEvent::CacheHit => " ---> Using cache\n".to_string(),
        BuildEvent::StepResult(id) => format!(" ---> {}\n", short_id(id)),
        BuildEvent::Output(text) => line(text),
        BuildEvent::Warning(text) => format!("[Warning] {}", line(text)),
    }))
}

/// The last messages of a build that worked: the id for clients (`aux`), then what the
/// user reads. A quiet build says the full id only.
pub fn success(result: &BuildResult, quiet: bool) -> Vec<JsonMessage> {
    let aux = JsonMessage {
        aux: Some(serde_json::json!({ "ID": result.image_id })),
        ..JsonMessage::default()
    };
    if quiet {
        return vec![aux, stream(format!("{}\n", result.image_id))];
    }
    let mut out = vec![
        aux,
        stream(format!(
            "Successfully built {}\n",
            short_id(&result.image_id)
        )),
    ];
    out.extend(
        result
            .tags
            .iter()
            .map(|tag| stream(format!("Successfully tagged {tag}\n"))),
    );
    out
}

/// The last message of a build that failed. A failed RUN carries its exit code, which
/// the docker CLI exits with.
pub fn failure(error: &BuildError) -> JsonMessage {
    let message = error.to_string();
    let code = match error {
        BuildError::RunFailed { code, .. } => Some(i64::from(*code)),
        _ => None,
    };
    JsonMessage {
        error_detail: Some(ErrorDetail {
            code,
            message: message.clone(),
        }),
        error: Some(message),
        ..JsonMessage::default()
    }
}

/// The status of a failure answered before any message was sent.
pub fn status(error: &BuildError) -> StatusCode {
    match error {
        BuildError::Parse(_) | BuildError::Source(_) => StatusCode::BAD_REQUEST,
        BuildError::Image(_) => StatusCode::NOT_FOUND,
        BuildError::RunFailed { .. } | BuildError::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// dockerd's events of a build: a `tag` event per name given.
pub fn publish_tags(engine: &Engine, result: &BuildResult) {
    for tag in &result.tags {
        publish(engine, "tag", &result.image_id, tag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(message: &JsonMessage) -> &str {
        message.stream.as_deref().unwrap()
    }

    #[test]
    fn events_read_as_the_legacy_builder_writes_them() {
        let step = BuildEvent::Step {
            number: 1,
            total: 3,
            text: "FROM busybox".into(),
        };
        assert_eq!(text(&event(&step).unwrap()), "Step 1/3 : FROM busybox\n");
        assert_eq!(
            text(&event(&BuildEvent::CacheHit).unwrap()),
            " ---> Using cache\n"
        );
        let id = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            text(&event(&BuildEvent::StepResult(id)).unwrap()),
            " ---> abababababab\n"
        );
        assert_eq!(
            text(&event(&BuildEvent::Output("hi".into())).unwrap()),
            "hi\n"
        );
    }

    #[test]
    fn the_end_names_the_image_and_its_tags() {
        let result = BuildResult {
            image_id: format!("sha256:{}", "12".repeat(32)),
            tags: vec!["app:latest".into()],
        };
        let out = success(&result, false);
        assert_eq!(out[0].aux.as_ref().unwrap()["ID"], result.image_id);
        assert_eq!(text(&out[1]), "Successfully built 121212121212\n");
        assert_eq!(text(&out[2]), "Successfully tagged app:latest\n");
        let quiet = success(&result, true);
        assert_eq!(text(&quiet[1]), format!("{}\n", result.image_id));
    }

    #[test]
    fn failed_runs_carry_their_exit_code() {
        let failed = failure(&BuildError::RunFailed {
            command: "/bin/sh -c false".into(),
            code: 3,
        });
        let detail = failed.error_detail.unwrap();
        assert_eq!(detail.code, Some(3));
        assert_eq!(
            detail.message,
            "The command '/bin/sh -c false' returned a non-zero code: 3"
        );
    }
}
