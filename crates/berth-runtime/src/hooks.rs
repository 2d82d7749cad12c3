//! Lifecycle hooks: programs run at set points with the container's state on stdin.
//!
//! | hook | when | where it runs |
//! |---|---|---|
//! | `prestart` (deprecated), `createRuntime` | after the namespaces exist, before pivot_root | runtime namespace (the runtime process) |
//! | `createContainer` | after `createRuntime`, before pivot_root | container namespaces (the init) |
//! | `startContainer` | on `start`, just before the user program | container namespaces (the init) |
//! | `poststart` | after the user program started | runtime namespace |
//! | `poststop` | on `delete` | runtime namespace |

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::state::OciState;

/// A hook that could not run or failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The hook program could not be started.
    #[error("{kind} hook `{path}` could not be started")]
    Spawn {
        /// Which hook list.
        kind: &'static str,
        /// The program.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The hook exited non-zero or was killed.
    #[error("{kind} hook `{path}` failed ({status}){stderr}")]
    Failed {
        /// Which hook list.
        kind: &'static str,
        /// The program.
        path: PathBuf,
        /// Its exit status.
        status: String,
        /// The end of what it wrote to stderr, if anything, prefixed by ": ".
        stderr: String,
    },
    /// The hook ran past its timeout and was killed.
    #[error("{kind} hook `{path}` timed out after {seconds}s")]
    Timeout {
        /// Which hook list.
        kind: &'static str,
        /// The program.
        path: PathBuf,
        /// The timeout.
        seconds: i64,
    },
}

/// Runs `hooks` in order, each with `state` on stdin; stops at the first failure.
pub fn run(kind: &'static str, hooks: &[Hook], state: &OciState) -> Result<(), HookError> {
    if hooks.is_empty() {
        return Ok(());
    }
    let input = serde_json::to_vec(state).unwrap_or_default();
    hooks
        .iter()
        .try_for_each(|hook| run_one(kind, hook, &input))
}

fn run_one(kind: &'static str, hook: &Hook, input: &[u8]) -> Result<(), HookError> {
    let path = hook.path().clone();
    let mut command = Command::new(&path);
    if let Some(args) = hook.args() {
        if let Some((argv0, rest)) = args.split_first() {
            command.arg0(argv0).args(rest);
        }
    }
    command.env_clear();
    for entry in hook.env().iter().flatten() {
        if let Some((key, value)) = entry.split_once('=') {
            command.env(key, value);
        }
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| HookError::Spawn {
            kind,
            path: path.clone(),
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is allowed: ignore EPIPE.
        let _ = stdin.write_all(input);
    }
    let deadline = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| (t, Instant::now() + Duration::from_secs(t as u64)));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => return Err(HookError::Spawn { kind, path, source }),
        }
        if let Some((seconds, at)) = deadline {
            if Instant::now() >= at {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HookError::Timeout {
                    kind,
                    path,
                    seconds,
                });
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    let stderr = stderr.trim();
    let tail: String = stderr
        .chars()
        .rev()
        .take(400)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(HookError::Failed {
        kind,
        path,
        status: status.to_string(),
        stderr: if tail.is_empty() {
            String::new()
        } else {
            format!(": {tail}")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Status;

    fn state() -> OciState {
        OciState {
            oci_version: "1.2.0".into(),
            id: "hooked".into(),
            status: Status::Created,
            pid: 42,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: String::new(),
            owner: "root".into(),
            annotations: Default::default(),
        }
    }

    fn hook(script: &str) -> Hook {
        serde_json::from_value(serde_json::json!({
            "path": "/bin/sh", "args": ["sh", "-c", script], "env": ["X=1"], "timeout": 5
        }))
        .unwrap()
    }

    #[test]
    fn hook_reads_state_on_stdin_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = hook(&format!(
            "cat > {}.1; echo one >> {}",
            out.display(),
            out.display()
        ));
        let second = hook(&format!("echo two $X >> {}", out.display()));
        run("createRuntime", &[first, second], &state()).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "one\ntwo 1\n");
        let given: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("out.1")).unwrap()).unwrap();
        assert_eq!(given["id"], "hooked");
        assert_eq!(given["pid"], 42);
        assert_eq!(given["status"], "created");
    }

    #[test]
    fn failing_hook_names_itself_and_its_stderr() {
        let err = run("poststart", &[hook("echo broken >&2; exit 3")], &state()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("poststart hook `/bin/sh` failed"), "{text}");
        assert!(text.contains("broken"), "{text}");
    }
}
