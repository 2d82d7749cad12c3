//! Exec: create (`ExecConfig`), start, inspect (`ExecInspect`).

use serde::{Deserialize, Serialize};

/// `POST /containers/{id}/exec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecConfig {
    /// Attach stdin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdin: Option<bool>,
    /// Attach stdout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdout: Option<bool>,
    /// Attach stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stderr: Option<bool>,
    /// Initial TTY size `[height, width]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u32; 2]>,
    /// Key sequence that detaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detach_keys: Option<String>,
    /// Allocate a pty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// Extra `NAME=VALUE` environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// The command.
    pub cmd: Vec<String>,
    /// Run with all capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// `USER[:GROUP]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
}

/// `POST /exec/{id}/start`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecStartConfig {
    /// Return at once instead of streaming the output.
    #[serde(default)]
    pub detach: bool,
    /// Raw (TTY) output instead of the multiplexed framing.
    #[serde(default)]
    pub tty: bool,
    /// Initial TTY size `[height, width]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u32; 2]>,
}

/// The process of an exec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessConfig {
    /// Run with all capabilities.
    #[serde(default, deserialize_with = "super::nullable")]
    pub privileged: bool,
    /// User.
    #[serde(default, deserialize_with = "super::nullable")]
    pub user: String,
    /// Pty allocated.
    #[serde(default, deserialize_with = "super::nullable")]
    pub tty: bool,
    /// Program.
    #[serde(default, deserialize_with = "super::nullable")]
    pub entrypoint: String,
    /// Its arguments.
    #[serde(default, deserialize_with = "super::nullable")]
    pub arguments: Vec<String>,
}

/// `GET /exec/{id}/json` (`ExecInspect`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecInspect {
    /// Exec ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// Running.
    #[serde(default, deserialize_with = "super::nullable")]
    pub running: bool,
    /// Exit code, once it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// The process.
    #[serde(default, deserialize_with = "super::nullable")]
    pub process_config: ProcessConfig,
    /// stdin open.
    #[serde(default, deserialize_with = "super::nullable")]
    pub open_stdin: bool,
    /// stderr attached.
    #[serde(default, deserialize_with = "super::nullable")]
    pub open_stderr: bool,
    /// stdout attached.
    #[serde(default, deserialize_with = "super::nullable")]
    pub open_stdout: bool,
    /// Was started and may not be started again.
    #[serde(default, deserialize_with = "super::nullable")]
    pub can_remove: bool,
    /// Container ID.
    #[serde(default, rename = "ContainerID", deserialize_with = "super::nullable")]
    pub container_id: String,
    /// Detach key sequence.
    #[serde(default, deserialize_with = "super::nullable")]
    pub detach_keys: String,
    /// Host PID of the process.
    #[serde(default, deserialize_with = "super::nullable")]
    pub pid: i64,
}
