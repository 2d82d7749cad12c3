//! Healthchecks: run the check in the container every interval, keep the last results,
//! and turn the status to `healthy` or (after `retries` failures) `unhealthy`.

use std::sync::Arc;
use std::time::Duration;

use berth_client::types::containers::{Health, HealthConfig, HealthcheckResult};

use super::{now_rfc3339, Container};
use crate::engine::Engine;

/// Docker's defaults.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: i64 = 3;
/// Results kept in `State.Health.Log`.
const KEPT_RESULTS: usize = 5;

/// Whether the config asks for a check (`NONE` and an empty test do not).
pub fn enabled(config: &HealthConfig) -> bool {
    config
        .test
        .as_ref()
        .and_then(|t| t.first())
        .is_some_and(|first| first != "NONE")
}

/// The health of a container that just started.
pub fn starting() -> Health {
    Health {
        status: "starting".into(),
        failing_streak: 0,
        log: Some(Vec::new()),
    }
}

fn nanos(value: Option<i64>, default: Duration) -> Duration {
    match value {
        Some(n) if n > 0 => Duration::from_nanos(n as u64),
        _ => default,
    }
}

/// The command a check runs.
fn argv(config: &HealthConfig, shell: Option<&Vec<String>>) -> Option<Vec<String>> {
    let test = config.test.as_ref()?;
    match test.first().map(String::as_str) {
        Some("CMD") => Some(test[1..].to_vec()),
        Some("CMD-SHELL") => {
            let mut argv = shell
                .filter(|s| !s.is_empty())
                .cloned()
                .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
            argv.push(test[1..].join(" "));
            Some(argv)
        }
        _ => None,
    }
}

/// Starts the check loop of a just-started container (if it has a check). The loop ends
/// when this run of the container ends.
pub fn spawn(engine: Arc<Engine>, container: Arc<Container>) {
    let Some((config, shell)) = container.with(|r| {
        r.config
            .healthcheck
            .clone()
            .filter(enabled)
            .map(|h| (h, r.config.shell.clone()))
    }) else {
        return;
    };
    let Some(argv) = argv(&config, shell.as_ref()) else {
        return;
    };
    let interval = nanos(config.interval, DEFAULT_INTERVAL);
    let timeout = nanos(config.timeout, DEFAULT_TIMEOUT);
    let start_period = nanos(config.start_period, Duration::ZERO);
    let start_interval = nanos(config.start_interval, DEFAULT_START_INTERVAL);
    let retries = config.retries.filter(|r| *r > 0).unwrap_or(DEFAULT_RETRIES);
    let run = container.exits().borrow().count;
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        loop {
            let in_start_period = started.elapsed() < start_period;
            let wait = if in_start_period {
                start_interval.min(interval)
            } else {
                interval
            };
            let mut exits = container.exits();
            let ended = exits.wait_for(|e| e.count > run || e.removed);
            tokio::select! {
                _ = ended => return,
                _ = tokio::time::sleep(wait) => {}
            }
            if !container.with(|r| r.state.is_running()) {
                return;
            }
            let start = now_rfc3339();
            let (exit_code, output) =
                match crate::exec::run_collect(&container, argv.clone(), timeout).await {
                    Ok(result) => result,
                    Err(e) => (-1, e.to_string()),
                };
            let healthy = exit_code == 0;
            let result = HealthcheckResult {
                start,
                end: now_rfc3339(),
                exit_code: if healthy {
                    0
                } else if exit_code == -1 {
                    -1
                } else {
                    1
                },
                output,
            };
            // Failures during the start period do not count against the retries.
            let in_grace = !healthy && started.elapsed() < start_period;
            let changed = container.update(|r| {
                let health = r.state.health.get_or_insert_with(starting);
                let before = health.status.clone();
                let log = health.log.get_or_insert_with(Vec::new);
                log.push(result.clone());
                if log.len() > KEPT_RESULTS {
                    log.remove(0);
                }
                if healthy {
                    health.failing_streak = 0;
                    health.status = "healthy".into();
                } else if !in_grace {
                    health.failing_streak += 1;
                    if health.failing_streak >= retries {
                        health.status = "unhealthy".into();
                    }
                }
                (before != health.status).then(|| health.status.clone())
            });
            if let Ok(Some(status)) = changed {
                engine.events().publish(
                    "container",
                    &format!("health_status: {status}"),
                    &container.id,
                    super::view::event_attributes(&container),
                );
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_become_commands() {
        let shell = HealthConfig {
            test: Some(vec!["CMD-SHELL".into(), "test -f /ok".into()]),
            ..HealthConfig::default()
        };
        assert_eq!(
            argv(&shell, None).unwrap(),
            vec!["/bin/sh", "-c", "test -f /ok"]
        );
        let cmd = HealthConfig {
            test: Some(vec!["CMD".into(), "true".into()]),
            ..HealthConfig::default()
        };
        assert_eq!(argv(&cmd, None).unwrap(), vec!["true"]);
        let none = HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..HealthConfig::default()
        };
        assert!(!enabled(&none));
    }
}
