//! Two [`Observed`] images compared field by field, into lines a reader can act on.

use std::collections::BTreeSet;

use serde_json::Value;

use super::observe::Observed;
use super::tree::Tree;

/// `what: docker=… berth=…` for every difference. `steps`: whether the build's step lines
/// are compared (not where berth builds fewer stages than dockerd on purpose).
pub fn compare(docker: &Observed, berth: &Observed, steps: bool) -> Vec<String> {
    let mut out = Vec::new();
    config(&docker.config, &berth.config, &mut out);
    for ((name, d), (_, b)) in docker.top.iter().zip(&berth.top) {
        if d != b {
            out.push(format!("{name}: docker={d} berth={b}"));
        }
    }
    lines(
        "history (newest first)",
        &docker.history,
        &berth.history,
        &mut out,
    );
    lines(
        "config history (oldest first)",
        &docker.config_history,
        &berth.config_history,
        &mut out,
    );
    if steps {
        lines("build output", &docker.steps, &berth.steps, &mut out);
    }
    if docker.from_result != berth.from_result {
        out.push(format!(
            "result of the FROM step: docker={:?} berth={:?}",
            docker.from_result, berth.from_result
        ));
    }
    if docker.layers.len() == berth.layers.len() {
        for (i, (d, b)) in docker.layers.iter().zip(&berth.layers).enumerate() {
            tree(&format!("layer {i}"), d, b, &mut out);
        }
    }
    tree("file tree", &docker.tree, &berth.tree, &mut out);
    out
}

fn config(docker: &Value, berth: &Value, out: &mut Vec<String>) {
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    for key in keys(docker).union(&keys(berth)) {
        let (d, b) = (&docker[key], &berth[key]);
        if d != b {
            out.push(format!("Config.{key}: docker={d} berth={b}"));
        }
    }
}

fn lines(what: &str, docker: &[String], berth: &[String], out: &mut Vec<String>) {
    if docker == berth {
        return;
    }
    out.push(format!("{what} differs:"));
    for i in 0..docker.len().max(berth.len()) {
        let (d, b) = (docker.get(i), berth.get(i));
        let mark = if d == b { " " } else { "!" };
        out.push(format!(
            "  {mark} docker: {}\n  {mark} berth:  {}",
            d.map_or("<none>", String::as_str),
            b.map_or("<none>", String::as_str)
        ));
    }
}

fn tree(what: &str, docker: &Tree, berth: &Tree, out: &mut Vec<String>) {
    let paths: BTreeSet<&String> = docker.keys().chain(berth.keys()).collect();
    for path in paths {
        let (d, b) = (docker.get(path), berth.get(path));
        if d != b {
            out.push(format!(
                "{what} /{path}: docker={} berth={}",
                d.map_or("<absent>", String::as_str),
                b.map_or("<absent>", String::as_str)
            ));
        }
    }
}
