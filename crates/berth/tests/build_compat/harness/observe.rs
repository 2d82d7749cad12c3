//! What a user can see of a built image through the docker CLI — `docker image inspect`,
//! `docker history`, `docker save`, and the build's own output — in a shape two engines'
//! answers can be compared in.

use std::process::Command;
use std::time::Duration;

use berth_testkit::run_with_timeout;
use serde_json::Value;

use super::tree::{self, Tree};

/// How long one docker CLI command may take (a build on 2 busy cores included).
const TIMEOUT: Duration = Duration::from_secs(180);

/// One engine as the tests drive it: a docker CLI command line aimed at it.
pub struct Side {
    /// `docker` or `berth`, for messages.
    pub name: &'static str,
    pub command: Box<dyn Fn() -> Command + Send + Sync>,
    /// The engine's log, for failures.
    pub log_tail: Box<dyn Fn() -> String + Send + Sync>,
}

impl Side {
    /// `docker ARGS` through the legacy builder; (success, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        let mut cmd = (self.command)();
        cmd.env("DOCKER_BUILDKIT", "0").args(args);
        let out = run_with_timeout(&mut cmd, TIMEOUT).unwrap_or_else(|e| {
            panic!("{}: docker {args:?}: {e}\n{}", self.name, (self.log_tail)())
        });
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `docker ARGS`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.run(args);
        assert!(
            ok,
            "{}: `docker {}` failed\nstdout: {stdout}\nstderr: {stderr}\n{}",
            self.name,
            args.join(" "),
            (self.log_tail)()
        );
        stdout
    }
}

/// A built image as the CLI shows it.
#[derive(Debug)]
pub struct Observed {
    /// `.Config`, normalized (see [`normalize_config`]).
    pub config: Value,
    /// The other top-level fields compared: Architecture, Os, Author, Comment, the layer
    /// count.
    pub top: Vec<(String, Value)>,
    /// `docker history`, newest first: `CreatedBy | Comment`, normalized (see
    /// [`normalize_history`]).
    pub history: Vec<String>,
    /// The config document's `history`, oldest first: `created_by | empty_layer |
    /// comment | author` (`created` aside: a timestamp).
    pub config_history: Vec<String>,
    /// The build's `Step N/M : …` lines and warnings, in order.
    pub steps: Vec<String>,
    /// The result id printed after the first FROM step.
    pub from_result: Option<String>,
    /// Each layer's own entries, bottom first.
    pub layers: Vec<Tree>,
    /// The layers applied.
    pub tree: Tree,
}

/// Fields of `.Config` that cannot be the same on two engines, emptied:
/// - `Image`: the legacy builder records the id of the intermediate image the last step
///   ran on; intermediate ids hash creation times, so they differ between any two builds.
///   Whether it is set at all is still compared.
/// - `Hostname`: the id of the build container a RUN step ran in (random) in dockerd.
fn normalize_config(mut config: Value) -> Value {
    if let Some(obj) = config.as_object_mut() {
        if let Some(image) = obj.get_mut("Image") {
            let set = image.as_str().is_some_and(|s| !s.is_empty());
            *image = Value::String(if set { "<an image id>" } else { "" }.to_string());
        }
        if let Some(host) = obj.get_mut("Hostname") {
            *host = Value::String("<hostname>".to_string());
        }
    }
    config
}

/// A `docker history` line with what cannot match between engines replaced:
/// - the `file:`/`dir:`/`multi:` hash of COPY and ADD: dockerd's is a tarsum of the
///   context's tar headers as the CLI wrote them (not of the files alone); the files
///   themselves are compared in the trees.
/// - the size, left out: dockerd shows the size of a layer's file contents (0B for a
///   layer of directories only), berth's engine the size of its blob (a difference of
///   the image API, not of the builder). Which steps made a layer is compared through
///   the config's `empty_layer` flags.
fn normalize_history(line: &str) -> String {
    let mut parts: Vec<String> = line.split(" | ").map(str::to_string).collect();
    if let Some(created_by) = parts.first_mut() {
        *created_by = normalize_source_hash(created_by);
    }
    if parts.len() > 1 {
        parts.remove(1);
    }
    parts.join(" | ")
}

/// `file:0123…` (and `dir:`, `multi:`) as `file:<hash>`.
fn normalize_source_hash(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = ["file:", "dir:", "multi:"]
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
        .min()
    {
        let (i, len) = at;
        let after = &rest[i + len..];
        let hex = after.chars().take_while(char::is_ascii_hexdigit).count();
        out.push_str(&rest[..i + len]);
        if hex == 64 {
            out.push_str("<hash>");
            rest = &after[hex..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The config document's history entries, from a `docker save` tar.
fn config_history(save: &[u8]) -> Vec<String> {
    let document = tree::saved_config(save);
    let text = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    document["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|e| {
                    format!(
                        "{} | empty_layer={} | {} | {}",
                        normalize_source_hash(&text(e, "created_by")),
                        e.get("empty_layer")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                        text(e, "comment"),
                        text(e, "author")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The lines of a build's output that two engines must print alike.
fn steps_of(output: &str) -> (Vec<String>, Option<String>) {
    let lines: Vec<&str> = output.lines().collect();
    let steps = lines
        .iter()
        .filter(|l| l.starts_with("Step ") || l.starts_with("[Warning]"))
        .map(|l| l.to_string())
        .collect();
    let from_result = lines
        .iter()
        .position(|l| l.starts_with("Step 1/"))
        .and_then(|i| lines.get(i + 1))
        .map(|l| l.trim_start_matches(" ---> ").to_string());
    (steps, from_result)
}

/// `docker build ARGS CONTEXT` with an `--iidfile`; the image id, or the failure's text.
pub fn build(
    side: &Side,
    context: &std::path::Path,
    args: &[&str],
) -> Result<(String, String), String> {
    let iid = context.with_extension(format!("{}.iid", side.name));
    let iid_text = iid.to_string_lossy().into_owned();
    let context_text = context.to_string_lossy().into_owned();
    let mut all = vec!["build", "--network", "none", "--iidfile", &iid_text];
    all.extend_from_slice(args);
    all.push(&context_text);
    let (ok, stdout, stderr) = side.run(&all);
    if let Ok(dir) = std::env::var("BERTH_COMPAT_OUTPUT") {
        let name = context.file_name().unwrap().to_string_lossy();
        let _ = std::fs::create_dir_all(&dir);
        let file = format!(
            "{dir}/{name}-{}.{}.txt",
            args.join("_").replace('/', "_"),
            side.name
        );
        let _ = std::fs::write(file, format!("{stdout}\n{stderr}"));
    }
    if !ok {
        return Err(format!("{stdout}\n{stderr}"));
    }
    let id = std::fs::read_to_string(&iid).map_err(|e| format!("{iid_text}: {e}"))?;
    Ok((id.trim().to_string(), stdout))
}

/// Everything compared about image `id`, which `output` built.
pub fn observe(side: &Side, id: &str, output: &str, work: &std::path::Path) -> Observed {
    let inspect: Value = serde_json::from_str(&side.ok(&["image", "inspect", id])).unwrap();
    let image = &inspect[0];
    let layer_count = image["RootFS"]["Layers"].as_array().map_or(0, Vec::len);
    let top = vec![
        ("Architecture".to_string(), image["Architecture"].clone()),
        ("Os".to_string(), image["Os"].clone()),
        ("Author".to_string(), image["Author"].clone()),
        ("Comment".to_string(), image["Comment"].clone()),
        (
            "RootFS.Layers (count)".to_string(),
            Value::from(layer_count),
        ),
    ];
    let history = side
        .ok(&[
            "history",
            "--no-trunc",
            "--format",
            "{{.CreatedBy}} | {{.Size}} | {{.Comment}}",
            id,
        ])
        .lines()
        .map(normalize_history)
        .collect();
    let saved = work.join(format!("{}.save.tar", side.name));
    side.ok(&["save", "-o", &saved.to_string_lossy(), id]);
    let bytes = std::fs::read(&saved).unwrap();
    let _ = std::fs::remove_file(&saved);
    let layers: Vec<Tree> = tree::saved_layers(&bytes)
        .iter()
        .map(|l| tree::layer_entries(l))
        .collect();
    let (steps, from_result) = steps_of(output);
    Observed {
        config: normalize_config(image["Config"].clone()),
        top,
        history,
        config_history: config_history(&bytes),
        steps,
        from_result,
        tree: tree::flatten(&layers),
        layers,
    }
}
