//! `GET /containers/{id}/top`: the host's `ps` with the client's arguments, keeping the
//! rows of the container's processes (dockerd's `ContainerTop`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Serialize;

use super::lookup;
use crate::api::{json, ApiResult, AppState};
use crate::container::view::event_attributes;
use crate::error::EngineError;

/// The answer: `ps`'s header and the container's rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopBody {
    /// Column titles.
    pub titles: Vec<String>,
    /// One row per process, as many fields as titles.
    pub processes: Vec<Vec<String>>,
}

/// Refuses `-o x=PID`-like renames of the PID column other than `pid=` (dockerd's
/// `validatePSArgs`), which would hide which rows belong to the container.
fn check_args(args: &str) -> Result<(), EngineError> {
    let words: Vec<&str> = args.split_ascii_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        // `key=PID...`, or `key=` followed by a word starting with PID.
        let Some((key, value)) = word.split_once('=') else {
            continue;
        };
        let value = if value.is_empty() {
            words.get(i + 1).copied().unwrap_or("")
        } else {
            value
        };
        if value.starts_with("PID") && key != "pid" && i > 0 {
            return Err(EngineError::Invalid(format!(
                "specifying \"{key}={value}\" is not allowed"
            )));
        }
    }
    Ok(())
}

/// Keeps the header and the rows whose PID is one of `pids` (and, as dockerd does for
/// `ps m`, the thread rows with `-` as PID that follow a kept row). Extra fields of a row
/// (a command with spaces) are joined into the last column.
pub fn filter_ps_output(output: &str, pids: &[i32]) -> Result<TopBody, EngineError> {
    let mut lines = output.lines();
    let titles: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect();
    let pid_column = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| EngineError::Internal("Couldn't find PID field in ps output".into()))?;
    let mut body = TopBody {
        titles,
        processes: Vec::new(),
    };
    let mut previous_kept = false;
    for line in lines {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.len() < body.titles.len() {
            continue;
        }
        let keep = match fields[pid_column] {
            "-" => previous_kept,
            text => {
                let pid: i32 = text.parse().map_err(|_| {
                    EngineError::Internal(format!("Unexpected pid '{text}' in ps output"))
                })?;
                previous_kept = pids.contains(&pid);
                previous_kept
            }
        };
        if keep {
            let last = body.titles.len() - 1;
            let mut row: Vec<String> = fields[..last].iter().map(|f| f.to_string()).collect();
            row.push(fields[last..].join(" "));
            body.processes.push(row);
        }
    }
    Ok(body)
}

/// Runs `ps args`, first limited to `pids` with `-q` (fast on busy hosts), then without it
/// when `ps` refuses the combination (`f` cannot be used with `q`).
fn run_ps(args: &[String], pids: &[i32]) -> Result<String, EngineError> {
    let list = pids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let quick = std::process::Command::new("ps")
        .args(args)
        .arg("-q")
        .arg(&list)
        .output();
    if let Ok(out) = quick {
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
    }
    let out = std::process::Command::new("ps")
        .args(args)
        .output()
        .map_err(|e| EngineError::Internal(format!("ps: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        return Err(EngineError::Internal(format!("ps: {first}")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The handler.
pub async fn top(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let container = lookup(&engine, &id)?;
    let ps_args = query
        .get("ps_args")
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .unwrap_or("-ef")
        .to_string();
    check_args(&ps_args)?;
    if !container.with(|r| r.state.is_running()) {
        return Err(
            EngineError::Conflict(format!("container {} is not running", container.id)).into(),
        );
    }
    let pids = berth_runtime::container::pids(engine.runtime(), &container.id)?;
    let args: Vec<String> = ps_args
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect();
    let body = tokio::task::spawn_blocking(move || filter_ps_output(&run_ps(&args, &pids)?, &pids))
        .await
        .map_err(|e| EngineError::Internal(format!("ps: {e}")))??;
    engine.events().publish(
        "container",
        "top",
        &container.id,
        event_attributes(&container),
    );
    Ok(json(&body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EF: &str = "\
UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         812       1  0 10:01 ?        00:00:00 sleep 1000 --long arg
root         813     812  0 10:01 pts/0    00:00:00 sh -c echo  hi
nobody       900       1  0 10:02 ?        00:00:00 other
";

    #[test]
    fn only_the_containers_rows_are_kept_with_the_command_joined() {
        let body = filter_ps_output(EF, &[812, 813]).unwrap();
        assert_eq!(
            body.titles,
            ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        );
        assert_eq!(body.processes.len(), 2);
        assert_eq!(body.processes[0][1], "812");
        assert_eq!(body.processes[0][7], "sleep 1000 --long arg");
        // Runs of spaces inside the command collapse, as in dockerd.
        assert_eq!(body.processes[1][7], "sh -c echo hi");
        assert!(filter_ps_output(EF, &[]).unwrap().processes.is_empty());
    }

    #[test]
    fn thread_rows_follow_their_process() {
        let out =
            "USER PID %CPU CMD\nroot 10 0.0 app\nroot - 0.0 -\nroot 11 0.0 other\nroot - 0.0 -\n";
        let body = filter_ps_output(out, &[10]).unwrap();
        assert_eq!(body.processes.len(), 2);
        assert_eq!(body.processes[1][1], "-");
    }

    #[test]
    fn output_without_a_pid_column_or_with_a_bad_pid_fails() {
        assert!(filter_ps_output("USER CMD\nroot x\n", &[1]).is_err());
        assert!(filter_ps_output("USER PID CMD\nroot abc x\n", &[1]).is_err());
    }

    #[test]
    fn renaming_the_pid_column_is_refused() {
        assert!(check_args("-ef").is_ok());
        assert!(check_args("-o pid=PID,comm").is_ok());
        assert!(check_args("-o user=PID").is_err());
    }

    #[test]
    fn the_hosts_ps_lists_this_process() {
        let me = std::process::id() as i32;
        let output = run_ps(&["-ef".to_string()], &[me]).unwrap();
        let body = filter_ps_output(&output, &[me]).unwrap();
        assert_eq!(body.processes.len(), 1);
        assert_eq!(body.processes[0][1], me.to_string());
        // `f` cannot be combined with `-q`: the retry without it still finds the row.
        let output = run_ps(&["axf".to_string()], &[me]).unwrap();
        assert_eq!(filter_ps_output(&output, &[me]).unwrap().processes.len(), 1);
    }
}
