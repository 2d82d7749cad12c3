//! Bad input: the status codes and messages the docker CLI and API clients show users.

use std::process::Command;

use crate::engine::{scope, Kind, Scope, IMAGE};

/// `curl --unix-socket` a POST of `body` to `path`: (status, body).
fn post(t: &Scope, path: &str, body: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "--unix-socket"])
        .arg(t.socket())
        .args([
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
        ])
        .arg(format!("http://docker{path}"))
        .output()
        .expect("run curl");
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = out.rsplit_once('\n').expect("body then status");
    (status.parse().expect("an HTTP status"), body.to_string())
}

#[test]
fn invalid_json_is_a_400_with_a_message() {
    let t = scope();
    let (status, body) = post(&t, "/containers/create", "{not json");
    // dockerd before 23.0 answered 500 here; 400 is what Docker does now.
    let expected: &[u16] = if t.kind() == Kind::Dockerd {
        &[400, 500]
    } else {
        &[400]
    };
    assert!(
        expected.contains(&status),
        "status {status} for a broken body: {body}"
    );
    let json: serde_json::Value = serde_json::from_str(&body).expect("a JSON error body");
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[test]
fn missing_image_is_no_such_image() {
    let t = scope();
    let image = format!("{}/nosuch:1", t.token());
    let (status, body) = post(
        &t,
        "/containers/create",
        &format!("{{\"Image\":\"{image}\"}}"),
    );
    assert_eq!(status, 404, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["message"], format!("No such image: {image}"));
    let err = t.docker_fails(&["create", "--pull", "never", &image]);
    assert!(err.contains(&format!("No such image: {image}")), "{err}");
}

#[test]
fn a_taken_name_is_a_conflict() {
    let t = scope();
    let name = t.name("taken");
    let id = t.docker_ok(&["create", "--name", &name, IMAGE, "true"]);
    let err = t.docker_fails(&["create", "--name", &name, IMAGE, "true"]);
    let expected = format!(
        "Conflict. The container name \"/{name}\" is already in use by container \"{}\". \
         You have to remove (or rename) that container to be able to reuse that name.",
        id.trim()
    );
    assert!(err.contains(&expected), "expected {expected:?} in: {err}");
    let (status, _) = post(
        &t,
        &format!("/containers/create?name={name}"),
        &format!("{{\"Image\":\"{IMAGE}\",\"Cmd\":[\"true\"]}}"),
    );
    assert_eq!(status, 409);
}

#[test]
fn an_unknown_container_is_no_such_container() {
    let t = scope();
    let name = t.name("ghost");
    for verb in [
        &["start"][..],
        &["stop"],
        &["rm"],
        &["logs"],
        &["kill"],
        &["exec", "-i"],
    ] {
        let mut args = verb.to_vec();
        args.push(&name);
        if verb[0] == "exec" {
            args.push("true");
        }
        let err = t.docker_fails(&args);
        assert!(
            err.contains(&format!("No such container: {name}")),
            "docker {}: {err}",
            verb[0]
        );
    }
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--unix-socket"])
        .arg(t.socket())
        .arg(format!("http://docker/containers/{name}/json"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = out.rsplit_once('\n').unwrap();
    assert_eq!(status, "404");
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["message"], format!("No such container: {name}"));
}
