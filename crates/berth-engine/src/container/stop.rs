//! Signals and waiting: `kill`, `stop`, `restart`, `wait`, `pause`, `unpause`.

use std::sync::Arc;
use std::time::Duration;

use berth_client::types::containers::ContainerStatus;
use nix::sys::signal::Signal;

use super::view::publish_event;
use super::{start, Container};
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// Parses a signal as Docker takes it: `SIGTERM`, `TERM`, `15`.
pub fn parse_signal(text: &str) -> Result<Signal> {
    berth_runtime::signal::parse(text)
        .map_err(|_| EngineError::Invalid(format!("Invalid signal: {text}")))
}

fn not_running(container: &Container) -> EngineError {
    EngineError::Conflict(format!("Container {} is not running", container.id))
}

/// Sends `signal` to the container's main process.
pub async fn kill(
    engine: &Arc<Engine>,
    container: &Arc<Container>,
    signal: Option<&str>,
) -> Result<()> {
    let signal = parse_signal(signal.filter(|s| !s.is_empty()).unwrap_or("SIGKILL"))?;
    if !container.with(|r| r.state.is_running()) {
        return Err(not_running(container));
    }
    // A killed container is stopped on purpose: no policy restart (Docker's rule for
    // `docker kill` is the same as `docker stop` for unless-stopped/always).
    if signal == Signal::SIGKILL {
        container.update(|r| r.state.manually_stopped = true)?;
    }
    send(engine, container, signal)?;
    publish_kill(engine, container, signal);
    Ok(())
}

fn send(engine: &Engine, container: &Container, signal: Signal) -> Result<()> {
    match berth_runtime::container::kill(engine.runtime(), &container.id, signal, false) {
        Ok(()) => Ok(()),
        // It exited meanwhile: nothing to signal.
        Err(berth_runtime::Error::InvalidStatus { .. } | berth_runtime::Error::NotFound(_)) => {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Publishes the `kill` event of `signal` (Docker's attributes and the signal's number).
fn publish_kill(engine: &Engine, container: &Container, signal: Signal) {
    let mut attributes = super::view::event_attributes(container);
    attributes.insert("signal".into(), (signal as i32).to_string());
    engine
        .events()
        .publish("container", "kill", &container.id, attributes);
}

/// Waits until the run counted by `before` has ended, up to `timeout`.
async fn wait_exit(container: &Container, before: u64, timeout: Option<Duration>) -> bool {
    let mut exits = container.exits();
    let ended = exits.wait_for(|e| e.count > before || e.removed);
    match timeout {
        Some(t) => matches!(tokio::time::timeout(t, ended).await, Ok(Ok(_))),
        None => ended.await.is_ok(),
    }
}

/// `docker stop`: the stop signal, then SIGKILL after `timeout` seconds (-1: wait forever).
pub async fn stop(
    engine: &Arc<Engine>,
    container: &Arc<Container>,
    timeout: Option<i64>,
    signal: Option<&str>,
) -> Result<()> {
    let _op = container.op.lock().await;
    stop_locked(engine, container, timeout, signal).await
}

/// `stop` for a caller that holds the operation lock.
pub(crate) async fn stop_locked(
    engine: &Arc<Engine>,
    container: &Arc<Container>,
    timeout: Option<i64>,
    signal: Option<&str>,
) -> Result<()> {
    let record = container.record();
    if record.state.status == ContainerStatus::Restarting {
        container.update(|r| {
            r.state.manually_stopped = true;
            r.state.status = ContainerStatus::Exited;
        })?;
        return Ok(());
    }
    if !record.state.is_running() {
        return Err(EngineError::NotModified);
    }
    container.update(|r| r.state.manually_stopped = true)?;
    let signal_text = signal
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or(record.config.stop_signal.clone())
        .unwrap_or_else(|| "SIGTERM".into());
    let signal = parse_signal(&signal_text)?;
    let timeout = timeout.or(record.config.stop_timeout).unwrap_or(10);
    let before = container.exits().borrow().count;
    send(engine, container, signal)?;
    if record.state.status == ContainerStatus::Paused {
        let _ = berth_runtime::container::resume(engine.runtime(), &container.id);
    }
    publish_kill(engine, container, signal);
    let limit = (timeout >= 0).then(|| Duration::from_secs(timeout as u64));
    if !wait_exit(container, before, limit).await {
        send(engine, container, Signal::SIGKILL)?;
        publish_kill(engine, container, Signal::SIGKILL);
        if !wait_exit(container, before, Some(Duration::from_secs(30))).await {
            return Err(EngineError::Internal(format!(
                "container {} did not exit after SIGKILL",
                container.id
            )));
        }
    }
    publish_event(engine, container, "stop");
    Ok(())
}

/// `docker restart`: stop (if running), then start.
pub async fn restart(
    engine: &Arc<Engine>,
    container: &Arc<Container>,
    timeout: Option<i64>,
    signal: Option<&str>,
) -> Result<()> {
    let _op = container.op.lock().await;
    match stop_locked(engine, container, timeout, signal).await {
        Ok(()) | Err(EngineError::NotModified) => {}
        Err(e) => return Err(e),
    }
    container.update(|r| {
        r.state.manually_stopped = false;
        r.restart_count = 0;
    })?;
    start::start_locked(engine, container).await?;
    publish_event(engine, container, "restart");
    Ok(())
}

/// `POST /containers/{id}/wait` conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    /// Return at once if not running, else at the next exit (the default).
    NotRunning,
    /// The next exit.
    NextExit,
    /// Removal.
    Removed,
}

impl std::str::FromStr for WaitCondition {
    type Err = EngineError;
    fn from_str(text: &str) -> Result<Self> {
        match text {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(EngineError::Invalid(format!(
                "invalid condition: \"{other}\""
            ))),
        }
    }
}

/// Waits for `condition`; returns the exit code.
pub async fn wait(container: &Arc<Container>, condition: WaitCondition) -> i64 {
    let mut exits = container.exits();
    let now = *exits.borrow();
    let running =
        container.with(|r| r.state.is_running() || r.state.status == ContainerStatus::Restarting);
    match condition {
        WaitCondition::NotRunning if !running => now.exit_code,
        WaitCondition::NotRunning | WaitCondition::NextExit => {
            match exits.wait_for(|e| e.count > now.count || e.removed).await {
                Ok(e) => e.exit_code,
                Err(_) => container.with(|r| r.state.exit_code),
            }
        }
        WaitCondition::Removed => match exits.wait_for(|e| e.removed).await {
            Ok(e) => e.exit_code,
            Err(_) => container.with(|r| r.state.exit_code),
        },
    }
}

/// `docker pause`.
pub fn pause(engine: &Engine, container: &Container) -> Result<()> {
    let status = container.with(|r| r.state.status);
    match status {
        ContainerStatus::Running => {}
        ContainerStatus::Paused => {
            return Err(EngineError::Conflict(format!(
                "Container {} is already paused",
                container.id
            )))
        }
        _ => return Err(not_running(container)),
    }
    berth_runtime::container::pause(engine.runtime(), &container.id)?;
    container.update(|r| r.state.status = ContainerStatus::Paused)?;
    publish_event(engine, container, "pause");
    Ok(())
}

/// `docker unpause`.
pub fn unpause(engine: &Engine, container: &Container) -> Result<()> {
    if container.with(|r| r.state.status) != ContainerStatus::Paused {
        return Err(EngineError::Conflict(format!(
            "Container {} is not paused",
            container.id
        )));
    }
    berth_runtime::container::resume(engine.runtime(), &container.id)?;
    container.update(|r| r.state.status = ContainerStatus::Running)?;
    publish_event(engine, container, "unpause");
    Ok(())
}
