//! `GET /containers/{id}/logs`: the json-file log, framed as Docker frames it.
//!
//! A container without a tty gets Docker's multiplexed frames (`[stream, 0, 0, 0, len
//! u32 BE]` then the payload, stream 1 = stdout, 2 = stderr), a tty one the raw bytes.
//! With `timestamps` each entry is prefixed by its time and a space. With `follow` the
//! stream goes on until the container's current run ends (and what it wrote is
//! drained), or at once after the existing lines when it is not running.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::response::Response;
use berth_shim::jsonlog::{self, LogEntry, LogError, ReadOptions, Stream};
use bytes::Bytes;
use tokio::sync::watch;

use super::lookup;
use crate::api::query::{flag, timestamp};
use crate::api::{ApiResult, AppState};
use crate::container::Container;
use crate::error::EngineError;

/// The read options of the query (`tail` other than a number is "all", as dockerd).
fn read_options(query: &HashMap<String, String>) -> Result<ReadOptions, EngineError> {
    let stdout = flag(query.get("stdout"));
    let stderr = flag(query.get("stderr"));
    if !stdout && !stderr {
        return Err(EngineError::Invalid(
            "Bad parameters: you must choose at least one stream".into(),
        ));
    }
    let time = |key: &str| -> Result<Option<SystemTime>, EngineError> {
        match query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(text) => {
                let nanos = timestamp(text)?;
                if nanos <= 0 {
                    return Ok(None);
                }
                let nanos = u64::try_from(nanos)
                    .map_err(|_| EngineError::Invalid(format!("invalid {key} `{text}`")))?;
                Ok(Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos)))
            }
        }
    };
    let tail = query
        .get("tail")
        .and_then(|t| t.trim().parse::<i64>().ok())
        .and_then(|n| usize::try_from(n).ok());
    Ok(ReadOptions {
        since: time("since")?,
        until: time("until")?,
        tail,
        follow: flag(query.get("follow")),
        stdout,
        stderr,
    })
}

/// One entry as the client receives it.
pub fn frame(entry: &LogEntry, timestamps: bool, tty: bool) -> Bytes {
    let mut payload = Vec::with_capacity(entry.line.len() + 40);
    if timestamps {
        payload.extend_from_slice(entry.time_text.as_bytes());
        payload.push(b' ');
    }
    payload.extend_from_slice(&entry.line);
    if tty {
        return Bytes::from(payload);
    }
    let stream = match entry.stream {
        Stream::Stdout => 1u8,
        Stream::Stderr => 2u8,
    };
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&[stream, 0, 0, 0]);
    // A json-file entry is at most 16 KiB (plus the timestamp): it fits.
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    Bytes::from(out)
}

/// Whether the configured log driver keeps a log berth can read.
fn readable_driver(container: &Container) -> bool {
    container.with(|r| {
        let kind = r
            .host_config
            .log_config
            .as_ref()
            .map(|l| l.r#type.as_str())
            .unwrap_or("");
        matches!(kind, "" | "json-file" | "local")
    })
}

/// Sets `stop` when the run that is going on now ends (or the container is removed);
/// at once if none is going on.
fn stop_when_run_ends(container: &Container, follow: bool, stop: watch::Sender<bool>) {
    let mut exits = container.exits();
    let seen = *exits.borrow_and_update();
    // Subscribed first, so an exit between the subscription and this check is not lost.
    if !follow || seen.removed || !container.with(|r| r.state.is_running()) {
        let _ = stop.send(true);
        return;
    }
    tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = exits.changed() => {
                    let now = *exits.borrow_and_update();
                    if changed.is_err() || now.count != seen.count || now.removed {
                        let _ = stop.send(true);
                        return;
                    }
                }
                // The client went away: the follower dropped its receiver.
                () = stop.closed() => return,
            }
        }
    });
}

/// The handler.
pub async fn logs(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let container = lookup(&engine, &id)?;
    if !readable_driver(&container) {
        return Err(EngineError::NotImplemented(
            "configured logging driver does not support reading".into(),
        )
        .into());
    }
    let options = read_options(&query)?;
    let timestamps = flag(query.get("timestamps"));
    let tty = container.with(|r| r.config.tty.unwrap_or(false));
    let (stop_tx, stop_rx) = watch::channel(false);
    stop_when_run_ends(&container, options.follow, stop_tx);
    let entries = jsonlog::follow(&container.log_path(), options, stop_rx);
    let id = container.id.clone();
    let stream = futures_util::stream::unfold(entries, move |mut entries| {
        let id = id.clone();
        async move {
            loop {
                match entries.recv().await? {
                    Ok(entry) => {
                        return Some((
                            Ok::<_, std::io::Error>(frame(&entry, timestamps, tty)),
                            entries,
                        ))
                    }
                    Err(LogError::Corrupt { lines, .. }) => {
                        tracing::warn!(%id, lines, "skipped corrupt log lines");
                    }
                    Err(e) => {
                        tracing::warn!(%id, error = %e, "reading the log failed");
                        return Some((Err(std::io::Error::other(e.to_string())), entries));
                    }
                }
            }
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    response
        .headers_mut()
        .insert("Content-Type", HeaderValue::from_static(content_type));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(stream: Stream, line: &str) -> LogEntry {
        LogEntry {
            stream,
            line: line.as_bytes().to_vec(),
            time: SystemTime::UNIX_EPOCH,
            time_text: "2024-01-02T03:04:05.120000000Z".into(),
        }
    }

    #[test]
    fn frames_are_multiplexed_unless_tty() {
        let out = frame(&entry(Stream::Stderr, "oops\n"), false, false);
        assert_eq!(&out[..], b"\x02\0\0\0\0\0\0\x05oops\n");
        let out = frame(&entry(Stream::Stdout, "hi\n"), true, false);
        let payload = b"2024-01-02T03:04:05.120000000Z hi\n";
        assert_eq!(out[0], 1);
        assert_eq!(&out[4..8], &(payload.len() as u32).to_be_bytes());
        assert_eq!(&out[8..], payload);
        assert_eq!(
            &frame(&entry(Stream::Stdout, "raw\n"), false, true)[..],
            b"raw\n"
        );
    }

    #[test]
    fn query_values_read_as_docker_reads_them() {
        let q = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>()
        };
        assert!(read_options(&q(&[])).is_err());
        let o = read_options(&q(&[("stdout", "1"), ("tail", "all"), ("since", "0")])).unwrap();
        assert_eq!((o.tail, o.since, o.stderr), (None, None, false));
        let o = read_options(&q(&[("stderr", "true"), ("tail", "3"), ("since", "10.5")])).unwrap();
        assert_eq!(o.tail, Some(3));
        assert_eq!(
            o.since,
            Some(SystemTime::UNIX_EPOCH + Duration::from_millis(10_500))
        );
        let o = read_options(&q(&[("stdout", "1"), ("tail", "-1")])).unwrap();
        assert_eq!(o.tail, None);
        let o = read_options(&q(&[("stdout", "1"), ("tail", "0")])).unwrap();
        assert_eq!(o.tail, Some(0));
    }
}
